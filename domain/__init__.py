"""Shared domain model and storage: settings, ORM models, database access, outbox."""
