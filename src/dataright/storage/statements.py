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

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Dialect, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.compiler import SQLCompiler

from dataright.storage.autocommit import AutocommitConnections

__all__ = ["OneStatement", "attach", "dialect_of", "upsert_insert"]


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


class OneStatement:
    """A Core statement compiled once for a dialect and run on the driver's own cursor, for a statement a hot
    path runs again and again (an access request's read, its audit entry). SQLAlchemy's ``Connection`` costs
    about a tenth of a millisecond a statement in Python (cache key, events, result set-up) — as much as the
    statement itself on a local database. What SQLAlchemy would do to the values is kept: each bind goes
    through its column type's processor (JSON, UTC datetimes), and the parameters take the driver's style.
    """

    def __init__(self, statement: Any, dialect: Dialect, *, column_keys: list[str] | None = None) -> None:
        """``column_keys``: for an ``INSERT``, the columns the values will name (each bind typed by its column)."""
        self.dialect = dialect
        self.compiled: SQLCompiler = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = str(self.compiled)
        self._processors = {
            name: processor
            for name, bind in self.compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }

    def params(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters: ``values`` by bind name, the statement's own bound values for the rest."""
        merged = dict(self.compiled.construct_params(values))
        for name, processor in self._processors.items():
            if merged.get(name) is not None:
                merged[name] = processor(merged[name])
        if self.compiled.positional:
            assert self.compiled.positiontup is not None
            return tuple(merged[name] for name in self.compiled.positiontup)
        return merged

    def write(
        self, engine: Engine, values: Mapping[str, Any], *, connections: AutocommitConnections | None = None
    ) -> None:
        """Run the statement with ``values`` in a transaction of its own on a pooled connection, and commit;
        or alone in autocommit on one of ``connections`` (kept by the caller for a statement it runs often)."""
        params = self.params(values)
        if connections is not None:
            try:
                connections.run(lambda conn: self._execute(conn, params))
            except self.dialect.loaded_dbapi.Error as exc:
                raise self._error(exc) from None
            return
        raw = engine.raw_connection()
        try:
            self._execute(raw, params)
            raw.commit()
        except self.dialect.loaded_dbapi.Error as exc:
            raw.invalidate()  # whatever broke (the connection, the statement), the pool gets a fresh one
            raise self._error(exc) from None
        except BaseException:
            raw.invalidate()
            raise
        finally:
            raw.close()

    def _execute(self, conn: Any, params: Any) -> None:
        cursor = conn.cursor()
        try:
            cursor.execute(self.sql, params)
        finally:
            cursor.close()

    def _error(self, exc: Exception) -> StatementError:
        """The error SQLAlchemy would have raised, so callers handle it alike; no parameters in its message."""
        return DBAPIError.instance(self.sql, None, exc, self.dialect.loaded_dbapi.Error)
