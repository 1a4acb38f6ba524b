"""Engines and sessions for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite is put in WAL mode (readers never wait for the writer), with foreign keys on and a busy timeout.
Python's sqlite3 driver normally opens transactions lazily and breaks SAVEPOINT; here it is switched to
autocommit and dataright emits ``BEGIN`` itself (the recipe from SQLAlchemy's SQLite notes). A transaction
that will write starts with ``BEGIN IMMEDIATE``: it takes SQLite's single write lock up front, waiting
up to the busy timeout, instead of failing with "database is locked" when it upgrades from reading to
writing after another writer committed. ``session_scope(write=True)`` and the web layer's session for
unsafe HTTP methods ask for it through the ``dataright_write`` execution option; on PostgreSQL the option
does nothing.

``run_in_transaction`` is how a write runs: begin, work, commit in the calling thread, with nothing awaited
in between. A database that cannot take it now (SQLite's write lock still held after the busy timeout, no
free connection in the pool) raises ``Unavailable`` (503, nothing written); a write that lost a race on a
unique key, a deadlock or a serialization failure, or that found its pooled connection closed by the server
(a restart; PostgreSQL engines do not ping before each transaction), is run once more from the start. A
connection lost during COMMIT is ``CommitOutcomeUnknown``: never a 503, never run again.

Every engine is made with ``hide_parameters=True``: a failed statement's error (and so a 500's traceback in
the server log) shows the SQL but never the bound values, which may be personal data.

The pool the sessions share is sized from the settings (``pool_options``): ``db_pool_size`` connections kept
open, ``db_max_overflow`` more under load, and a request that finds none free within ``db_pool_timeout``
seconds fails (``Unavailable``, 503) instead of waiting for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings
from dataright.errors import Unavailable

WRITE_OPTION = "dataright_write"
SQLITE_BUSY_TIMEOUT_MS = 5_000
RETRIED_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected
logger = logging.getLogger("dataright.storage")
T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` (and ``postgres://``) URLs to psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_connect(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # dataright emits BEGIN itself, see _sqlite_begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return connect


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def pool_options(settings: Settings) -> dict[str, Any]:
    """``make_engine`` keywords sizing the shared pool from the settings (a file or server database; an
    in-memory SQLite database lives in one connection and keeps SQLAlchemy's pool for it)."""
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return {}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
    }


def make_engine(url: str, *, busy_timeout: float | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` with dataright's connection settings; on SQLite a statement waits up to
    ``busy_timeout`` seconds for another connection's write lock (default 5)."""
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        engine = create_engine(url, **kwargs)
        timeout_ms = SQLITE_BUSY_TIMEOUT_MS if busy_timeout is None else max(1, round(busy_timeout * 1000))
        event.listen(engine, "connect", _sqlite_connect(timeout_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        # No pre-ping: it cost every transaction a round trip (SELECT 1) before its first statement. A pooled
        # connection the server closed meanwhile (a restart) fails at its first statement instead; SQLAlchemy
        # then replaces every connection of the pool, ``run_in_transaction`` runs the write again on a new one,
        # and a read is answered 503 (``web.problems``).
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


def _busy(error: sa_exc.OperationalError) -> bool:
    """SQLite's write lock was not free within the busy timeout."""
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


def _retryable(error: sa_exc.DBAPIError) -> bool:
    if isinstance(error, sa_exc.IntegrityError):
        return True  # e.g. two writers creating the same subject: the second finds it on its second run
    return getattr(error.orig, "sqlstate", None) in RETRIED_SQLSTATES


class CommitOutcomeUnknown(RuntimeError):
    """The connection was lost while the database committed: the write may or may not have been applied."""


def run_in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T], *, write: bool = True) -> T:
    """``work(session)`` in one transaction begun and committed in this thread; see the module notes."""
    for attempt in (1, 2):
        committing = False
        try:
            with session_scope(factory, write=write) as session:
                result = work(session)
                committing = True  # what fails from here on failed at COMMIT
            return result
        except sa_exc.TimeoutError:
            raise Unavailable("no free database connection; try again shortly", retry_after=1) from None
        except sa_exc.DBAPIError as error:
            if isinstance(error, sa_exc.OperationalError) and _busy(error):
                raise Unavailable("the database is busy with other writes; try again shortly", retry_after=1) from None
            if committing and error.connection_invalidated:
                # never answered 503 ("nothing written") nor run again: the COMMIT may have been applied
                raise CommitOutcomeUnknown("the database connection was lost during COMMIT") from error
            if not committing and isinstance(error, sa_exc.OperationalError) and error.statement is None:
                # no connection could be opened (the server takes no more, or is down): nothing was sent
                logger.warning("no database connection for a write: %s", type(error.orig).__name__)
                raise Unavailable("the database takes no more connections right now; try again shortly") from None
            if error.connection_invalidated:
                if attempt == 1:
                    # a pooled connection the server closed (a restart): nothing was committed, run it again
                    logger.warning("a write found its database connection closed; running it once more")
                    continue
                raise Unavailable("the database connection was lost; try again shortly", retry_after=1) from None
            if attempt == 2 or not _retryable(error):
                raise
            logger.info("write transaction lost a race (%s); running it once more", type(error).__name__)
    raise AssertionError("unreachable")
