"""Core statements for write paths that run once per request: INSERT ... RETURNING and INSERT ... ON CONFLICT.

The ORM's unit of work is generous: every ``session.add`` + ``flush`` sorts the pending objects, collects
their attributes, runs the INSERT and writes the generated keys back, about a millisecond of CPU per object.
A hot write path that knows exactly which rows it adds (a consent event, its state, its audit entry) runs one
Core statement per table instead: the statement is built once (SQLAlchemy's compiled cache then skips the
compiler, psycopg prepares it on the server after a few runs), its generated key comes back in the same
round trip (``RETURNING``), and an insert-or-update is one ``ON CONFLICT`` statement instead of a read
followed by a write.

``Session.execute`` flushes pending ORM objects first, so a Core insert may refer to rows added the ORM way.
``attach`` makes an object whose row a Core statement inserted a persistent member of the session (the
identity map returns it; ``refresh`` works) without a second INSERT.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

__all__ = ["attach", "dialect_of", "upsert_insert"]


def dialect_of(session: Session) -> str:
    """``"postgresql"`` or ``"sqlite"``: the dialect of the session's database."""
    return session.get_bind().dialect.name


def upsert_insert(table: Table, dialect: str) -> Any:
    """An ``INSERT`` into ``table`` that takes ``.on_conflict_do_nothing`` / ``.on_conflict_do_update``
    (both PostgreSQL and SQLite >= 3.24 have ``INSERT ... ON CONFLICT``)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no INSERT ... ON CONFLICT for the {dialect} dialect")


def attach(session: Session, instance: Any) -> None:
    """Make ``instance``, whose row is already in the database (a Core INSERT in this transaction, its
    primary key set on it), persistent in ``session`` as if it had been loaded: no SQL is emitted."""
    make_transient_to_detached(instance)
    session.add(instance)
