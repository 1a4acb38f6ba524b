"""Engines and sessions for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite is put in WAL mode (readers never wait for the writer), with foreign keys on and a busy timeout.
Python's sqlite3 driver normally opens transactions lazily and breaks SAVEPOINT; here it is switched to
autocommit and dataright emits ``BEGIN`` itself (the recipe from SQLAlchemy's SQLite notes). A transaction
that will write starts with ``BEGIN IMMEDIATE``: it takes SQLite's single write lock up front, waiting
up to the busy timeout, instead of failing with "database is locked" when it upgrades from reading to
writing after another writer committed. ``session_scope(write=True)`` and the web layer's session for
unsafe HTTP methods ask for it through the ``dataright_write`` execution option; on PostgreSQL the option
does nothing.

Every engine is made with ``hide_parameters=True``: a failed statement's error (and so a 500's traceback in
the server log) shows the SQL but never the bound values, which may be personal data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "dataright_write"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` (and ``postgres://``) URLs to psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # dataright emits BEGIN itself, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with dataright's connection settings."""
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise ValueError(
        f"unsupported database URL {make_url(url).render_as_string(hide_password=True)!r}: "
        "use sqlite:///path or postgresql://user@host/db"
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (services return them to the API)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def start_writing(session: Session) -> None:
    """Begin the session's transaction as a writer (``BEGIN IMMEDIATE`` on SQLite). Call before any statement."""
    session.connection(execution_options={WRITE_OPTION: True})


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back when it raises."""
    session = factory()
    try:
        if write:
            start_writing(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
