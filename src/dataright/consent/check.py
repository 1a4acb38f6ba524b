"""The consent check's hot path: a primary-key lookup on ``consent_state`` through the DBAPI connection.

The SELECT is built once with SQLAlchemy Core, compiled once per dialect and then run as a plain DBAPI
statement through ``connection.execute`` (sqlite3 and psycopg 3 both have it; SQLite's statement cache and
psycopg's automatic prepare make it a prepared point lookup); no ORM, no per-call statement building.
The decision itself is ``rules.decide``. There is no cache in front: a write committed anywhere is seen
by the next check. A check only reads: a ``Sec-GPC: 1`` signal is honoured in the answer, never recorded.

Three doors share this code:

* ``service.check`` runs it on a session's own connection (so it sees that session's uncommitted writes);
* ``ConsentChecker`` keeps one autocommit connection per thread for callers that check at high rates
  in-process (the HTTP check route on SQLite, inline on the event loop). Its connections are its own, opened
  outside the engine's pool, so they never hold connections the sessions need; there are at most as many
  as threads that ever called it;
* ``AsyncConsentChecker`` answers on PostgreSQL without a worker thread: psycopg 3 async connections from a
  pool of its own (``psycopg_pool``), each borrowed for one lookup and given back at once.

The HTTP check route uses the checkers when ``decided_by_state_alone`` says their answer is the service's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Connection, Engine, Select, bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import NullPool

from dataright.consent.models import ConsentState
from dataright.consent.rules import (
    ControllerRules,
    Decision,
    EventKind,
    StateView,
    TargetRule,
    decide,
    dnc_applies,
    latest,
)
from dataright.consent.targets import Holder, Target, TargetKind
from dataright.errors import Unavailable
from dataright.storage.engine import make_engine

_TABLE = ConsentState.__table__
_KINDS = {kind.value: kind for kind in EventKind}
_KEY = ("controller_id", "holder", "target")


def _by_key(*targets: str) -> Select[Any]:
    c = _TABLE.c
    where = [c.controller_id == bindparam("controller_id"), c.holder == bindparam("holder")]
    if len(targets) == 1:
        return select(c.status, c.event_id, c.expires_at, c.evidenced).where(*where, c.target == bindparam("target"))
    columns = (c.target, c.status, c.event_id, c.expires_at, c.evidenced, c.occurred_at)
    return select(*columns).where(*where, c.target.in_([bindparam(t) for t in targets]))


def _datetime_reader(dialect: Dialect) -> Callable[[Any], datetime]:
    """Raw column value to an aware UTC datetime. SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (see
    ``storage.types``), which the C ``fromisoformat`` reads far faster than a regex-based processor."""
    if dialect.name == "sqlite":
        return lambda value: datetime.fromisoformat(value).replace(tzinfo=UTC)
    return lambda value: value.astimezone(UTC)


class StateReader:
    """Compiled point lookups for one dialect, run straight on a DBAPI connection."""

    def __init__(self, dialect: Dialect) -> None:
        one = _by_key("target").compile(dialect=dialect)
        two = _by_key("first", "second").compile(dialect=dialect)
        self._positional = bool(one.positional)
        if self._positional:
            assert tuple(one.positiontup or ()) == _KEY, one.positiontup
            assert tuple(two.positiontup or ()) == ("controller_id", "holder", "first", "second"), two.positiontup
        self._one_sql, self._two_sql = one.string, two.string
        self._datetime = _datetime_reader(dialect)

    def _one_params(self, controller_id: str, holder: str, target: str) -> Any:
        if self._positional:
            return (controller_id, holder, target)
        return {"controller_id": controller_id, "holder": holder, "target": target}

    def _two_params(self, controller_id: str, holder: str, first: str, second: str) -> Any:
        if self._positional:
            return (controller_id, holder, first, second)
        return {"controller_id": controller_id, "holder": holder, "first": first, "second": second}

    def _one_view(self, row: Any) -> StateView | None:
        if row is None:
            return None
        status, event_id, expires, evidenced = row
        kind = _KINDS[status]
        # only a given consent can lapse: parse its end alone
        expires_at = self._datetime(expires) if expires is not None and kind is EventKind.given else None
        return StateView(kind, event_id, expires_at, bool(evidenced))

    def _two_views(self, rows: Any, first: str, second: str) -> tuple[StateView | None, StateView | None]:
        views: dict[str, StateView] = {}
        for target, status, event_id, expires, evidenced, occurred in rows:
            expires_at = self._datetime(expires) if expires is not None else None
            views[target] = StateView(_KINDS[status], event_id, expires_at, bool(evidenced), self._datetime(occurred))
        return views.get(first), views.get(second)

    def read(self, dbapi_connection: Any, controller_id: str, holder: str, target: str) -> StateView | None:
        params = self._one_params(controller_id, holder, target)
        return self._one_view(dbapi_connection.execute(self._one_sql, params).fetchone())

    def read_two(
        self, dbapi_connection: Any, controller_id: str, holder: str, first: str, second: str
    ) -> tuple[StateView | None, StateView | None]:
        params = self._two_params(controller_id, holder, first, second)
        return self._two_views(dbapi_connection.execute(self._two_sql, params), first, second)

    async def read_async(
        self, connection: psycopg.AsyncConnection[Any], controller_id: str, holder: str, target: str
    ) -> StateView | None:
        cursor = await connection.execute(self._one_sql, self._one_params(controller_id, holder, target))
        return self._one_view(await cursor.fetchone())

    async def read_two_async(
        self, connection: psycopg.AsyncConnection[Any], controller_id: str, holder: str, first: str, second: str
    ) -> tuple[StateView | None, StateView | None]:
        cursor = await connection.execute(self._two_sql, self._two_params(controller_id, holder, first, second))
        return self._two_views(await cursor.fetchall(), first, second)


@cache
def _reader(dialect_name: str, paramstyle: str, dialect: Dialect) -> StateReader:
    return StateReader(dialect)


def reader_for(dialect: Dialect) -> StateReader:
    return _reader(dialect.name, str(dialect.paramstyle), dialect)


def current_state(
    reader: StateReader, dbapi_connection: Any, rules: ControllerRules, holder: str, rule: TargetRule
) -> StateView | None:
    """The state that decides ``rule`` for ``holder``: for a topic, the later of its own and its purpose's."""
    target = rule.target
    if target.kind is TargetKind.topic and rule.purpose_id is not None:
        own, purpose = reader.read_two(
            dbapi_connection, rules.controller_id, holder, target.code, Target.purpose(rule.purpose_id).code
        )
        return latest(own, purpose)
    return reader.read(dbapi_connection, rules.controller_id, holder, target.code)


async def current_state_async(
    reader: StateReader, connection: psycopg.AsyncConnection[Any], rules: ControllerRules, holder: str, rule: TargetRule
) -> StateView | None:
    """``current_state`` on a psycopg async connection."""
    target = rule.target
    if target.kind is TargetKind.topic and rule.purpose_id is not None:
        own, purpose = await reader.read_two_async(
            connection, rules.controller_id, holder, target.code, Target.purpose(rule.purpose_id).code
        )
        return latest(own, purpose)
    return await reader.read_async(connection, rules.controller_id, holder, target.code)


def evaluate(
    reader: StateReader,
    dbapi_connection: Any,
    rules: ControllerRules,
    holder: str,
    target: Target,
    *,
    now: datetime,
    gpc: bool = False,
) -> tuple[Decision, StateView | None, TargetRule]:
    rule = rules.rule(target)
    state = current_state(reader, dbapi_connection, rules, holder, rule) if rule.reads_state else None
    return decide(rule, state, now=now, gpc=gpc), state, rule


def decided_by_state_alone(rule: TargetRule) -> bool:
    """Whether ``service.check`` of a subject for ``rule`` reads nothing but the consent state, so that the
    checkers give the same answer: not so for marketing by SMS or voice, which asks the Do Not Call registry
    about the subject's phone numbers, nor for a purpose the declaration says needs a guardian, which reads
    the subject's age and guardian links. (A GPC signal changes the answer, not what is read.)"""
    return not dnc_applies(rule) and not rule.guardian_required


def _own_engine(engine: Engine) -> Engine:
    """An engine on ``engine``'s database whose connections belong to the caller alone (no pool): what a
    checker holds for a thread's lifetime must not come out of the pool the sessions share. An in-memory
    SQLite database exists only in its engine's connections, so that engine is used as it is."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine
    return make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool)


class ConsentChecker:
    """Fast in-process checks against committed state; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = _own_engine(engine)
        self._owns_engine = self._engine is not engine
        self._reader = reader_for(engine.dialect)
        self._dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._lock = threading.Lock()

    def _dbapi_connection(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            # Autocommit: every lookup sees the latest committed state and no transaction stays open.
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with self._lock:
                self._connections.append(connection)
            self._local.connection = connection
            raw = self._local.raw = connection.connection.dbapi_connection
        return raw

    def _discard_connection(self) -> None:
        """Drop this thread's connection (broken: the database restarted, the network dropped it)."""
        connection: Connection | None = getattr(self._local, "connection", None)
        self._local.raw = self._local.connection = None
        if connection is None:
            return
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        connection.invalidate()
        connection.close()

    def check(
        self,
        rules: ControllerRules,
        holder: Holder,
        target: Target,
        *,
        now: datetime | None = None,
        gpc: bool = False,
    ) -> Decision:
        """The decision for ``holder`` and ``target`` from committed state. A connection that fails is
        replaced and the lookup tried once more, so a database restart does not break a long-lived checker."""
        raw = getattr(self._local, "raw", None) or self._dbapi_connection()
        rule = rules.rule(target)
        state = None
        if rule.reads_state:
            try:
                state = current_state(self._reader, raw, rules, holder.code, rule)
            except self._dbapi_error:
                self._discard_connection()
                state = current_state(self._reader, self._dbapi_connection(), rules, holder.code, rule)
        return decide(rule, state, now=now or datetime.now(UTC), gpc=gpc)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
        if self._owns_engine:
            self._engine.dispose()


class AsyncConsentChecker:
    """Checks on PostgreSQL from the event loop: psycopg 3 async connections (autocommit, so every lookup
    sees the latest committed state and no transaction stays open) from a pool of the checker's own, each
    borrowed for one lookup. ``open`` and ``close`` run on the event loop that will use it."""

    def __init__(self, engine: Engine, *, size: int, timeout: float) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"AsyncConsentChecker needs PostgreSQL, not {engine.dialect.name}")
        self._reader = reader_for(engine.dialect)
        self._timeout = timeout
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo,
            min_size=size,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True},
            open=False,
            name="dataright-check",
        )

    async def open(self) -> None:
        """Open the pool and wait for its connections (a database that does not answer fails start-up)."""
        await self._pool.open(wait=True, timeout=self._timeout)

    async def close(self) -> None:
        await self._pool.close()

    async def _state(self, rules: ControllerRules, holder: str, rule: TargetRule) -> StateView | None:
        try:
            async with self._pool.connection() as connection:
                return await current_state_async(self._reader, connection, rules, holder, rule)
        except PoolTimeout:
            raise Unavailable("no free database connection for the check; try again shortly", retry_after=1) from None

    async def check(
        self,
        rules: ControllerRules,
        holder: Holder,
        target: Target,
        *,
        now: datetime | None = None,
        gpc: bool = False,
    ) -> Decision:
        """The decision for ``holder`` and ``target`` from committed state. A lookup on a connection that
        fails (the database restarted) is tried once more: the pool drops a broken connection when it is
        given back and opens a new one."""
        rule = rules.rule(target)
        state = None
        if rule.reads_state:
            try:
                state = await self._state(rules, holder.code, rule)
            except psycopg.OperationalError:
                state = await self._state(rules, holder.code, rule)
        return decide(rule, state, now=now or datetime.now(UTC), gpc=gpc)
