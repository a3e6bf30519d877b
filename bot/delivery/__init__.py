"""Delivery: the outbox dispatcher, platform rate limits and pacing, broadcasts."""
