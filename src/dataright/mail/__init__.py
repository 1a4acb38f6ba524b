"""E-mail: the outbox (written in the caller's transaction), the sender that drains it, templates via the catalogs.

``service.enqueue`` renders a message from a named template in the person's language and stores it in the
outbox in the caller's transaction; ``sender.drain`` sends what is due through SMTP (or writes ``.eml``
files in demo mode), at most once per outbox row.
"""
