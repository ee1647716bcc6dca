"""Hooks: case events → outbox (same transaction) → delivery worker → channels."""
