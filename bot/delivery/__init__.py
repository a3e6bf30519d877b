"""Delivery: the outbox dispatcher, platform rate limits, and per-resident flood limits."""
