"""Safe retries: ``Idempotency-Key`` records, each written in the transaction of the write it answers."""
