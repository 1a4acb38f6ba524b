"""A few driver connections in autocommit, kept for statements that stand alone on a hot path: an access
request's read of a datastore (one statement is one consistent snapshot), the audit entry that records it
(one INSERT is its own transaction).

Taking a connection from SQLAlchemy's pool, switching it to autocommit and back and returning it costs
about 50 microseconds of Python, a fifth of such a statement on a local database. These connections are
taken out of the pool once (``detach``: the pool opens another in their place when it needs one),
switched to autocommit once, and handed from one statement to the next, last used first, so a statement
the driver has prepared on a connection is there for the next request. Whoever keeps them closes them
(``close``) when it is done, as it would dispose of an engine.

A connection the server has closed meanwhile (an idle timeout, a restart) fails its statement: it is
dropped, and the statement runs once more on a new connection before anything is reported. Only
statements that may run twice belong here: a read; an audit entry, where a second copy after a connection
lost in the middle of its commit is better than none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")
KEEP = 4
"""Connections kept idle at most (as many as the threads that read at once, usually one)."""
RECYCLE_SECONDS = 1800.0
"""A connection older than this is closed instead of used, as the pool's ``pool_recycle`` does."""


class AutocommitConnections:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[tuple[Any, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    def run(self, read: Callable[[Any], T]) -> T:
        """``read(dbapi_connection)`` on a kept connection, or once more on a new one when a kept one fails.

        Raises the driver's error when a new connection fails too (the caller says which datastore)."""
        conn, born = self._take()
        if conn is not None:
            try:
                result = read(conn)
            except self._engine.dialect.loaded_dbapi.Error:
                _close_quietly(conn)  # gone stale while kept, or broken by the statement: a new one decides
            except BaseException:
                _close_quietly(conn)
                raise
            else:
                self._give_back(conn, born)
                return result
        conn, born = self._open()
        try:
            result = read(conn)
        except BaseException:
            _close_quietly(conn)
            raise
        self._give_back(conn, born)
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            _close_quietly(conn)

    def _take(self) -> tuple[Any, float]:
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    return None, 0.0
                conn, born = self._idle.pop()
            if now - born < RECYCLE_SECONDS:
                return conn, born
            _close_quietly(conn)

    def _open(self) -> tuple[Any, float]:
        fairy = self._engine.raw_connection()
        fairy.detach()  # ours from now on; the pool's count of connections is not changed
        conn = fairy.dbapi_connection
        assert conn is not None  # a connection just opened
        try:
            self._engine.dialect.set_isolation_level(conn, "AUTOCOMMIT")
        except BaseException:
            _close_quietly(conn)
            raise
        return conn, time.monotonic()

    def _give_back(self, conn: Any, born: float) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < KEEP:
                self._idle.append((conn, born))
                return
        _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    with suppress(Exception):  # a connection that cannot even close is dropped all the same
        conn.close()
