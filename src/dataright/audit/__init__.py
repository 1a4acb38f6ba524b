"""The audit trail: a hash-chained, append-only log of every state change (ids and counts, never personal data)."""
