"""The consent check's hot path: a primary-key lookup on ``consent_state`` through the DBAPI connection.

The SELECT is built once with SQLAlchemy Core, compiled once per dialect and then run as a plain DBAPI
statement (SQLite's statement cache and psycopg's automatic prepare make it a prepared point lookup); no
ORM, no per-call statement building. The decision itself is ``rules.decide``. There is no cache in front:
a write committed anywhere is seen by the next check.

Two doors share this code: ``service.check`` runs it on a session's own connection (so it sees that
session's uncommitted writes), and ``ConsentChecker`` keeps one autocommit connection per thread for
callers that check at high rates in-process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, select
from sqlalchemy.engine import Dialect

from dataright.consent.models import ConsentState
from dataright.consent.rules import (
    ControllerRules,
    Decision,
    EventKind,
    StateView,
    TargetRule,
    decide,
    latest,
)
from dataright.consent.targets import Holder, Target, TargetKind

_TABLE = ConsentState.__table__
_COLUMNS = (_TABLE.c.status, _TABLE.c.event_id, _TABLE.c.expires_at, _TABLE.c.evidenced, _TABLE.c.occurred_at)


def _by_key(*targets: str) -> Select[Any]:
    where = [_TABLE.c.controller_id == bindparam("controller_id"), _TABLE.c.holder == bindparam("holder")]
    if len(targets) == 1:
        return select(*_COLUMNS).where(*where, _TABLE.c.target == bindparam(targets[0]))
    return select(_TABLE.c.target, *_COLUMNS).where(*where, _TABLE.c.target.in_([bindparam(t) for t in targets]))


class StateReader:
    """Compiled point lookups for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self._one_sql, self._one_params = self._compile(_by_key("target"), dialect)
        self._two_sql, self._two_params = self._compile(_by_key("first", "second"), dialect)
        processor = _TABLE.c.expires_at.type.dialect_impl(dialect).result_processor(dialect, None)
        self._datetime: Callable[[Any], datetime | None] = processor or (lambda v: v)

    @staticmethod
    def _compile(statement: Select[Any], dialect: Dialect) -> tuple[str, Callable[[Mapping[str, str]], Any]]:
        compiled = statement.compile(dialect=dialect)
        if compiled.positional:
            names = tuple(compiled.positiontup or ())
            return compiled.string, lambda params: tuple(params[n] for n in names)
        return compiled.string, lambda params: params

    def _view(self, row: Sequence[Any]) -> StateView:
        status, event_id, expires, evidenced, occurred = row
        return StateView(
            EventKind(status),
            int(event_id),
            self._datetime(expires) if expires is not None else None,
            bool(evidenced),
            self._datetime(occurred),
        )

    def read(self, dbapi_connection: Any, controller_id: str, holder: str, target: str) -> StateView | None:
        cursor = dbapi_connection.cursor()
        try:
            params = {"controller_id": controller_id, "holder": holder, "target": target}
            cursor.execute(self._one_sql, self._one_params(params))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return self._view(row) if row is not None else None

    def read_two(
        self, dbapi_connection: Any, controller_id: str, holder: str, first: str, second: str
    ) -> tuple[StateView | None, StateView | None]:
        cursor = dbapi_connection.cursor()
        try:
            params = {"controller_id": controller_id, "holder": holder, "first": first, "second": second}
            cursor.execute(self._two_sql, self._two_params(params))
            rows = {row[0]: self._view(row[1:]) for row in cursor.fetchall()}
        finally:
            cursor.close()
        return rows.get(first), rows.get(second)


@cache
def _reader(dialect_name: str, paramstyle: str, dialect: Dialect) -> StateReader:
    return StateReader(dialect)


def reader_for(dialect: Dialect) -> StateReader:
    return _reader(dialect.name, str(dialect.paramstyle), dialect)


def depends_on_state(rule: TargetRule) -> bool:
    """Whether anything recorded can change the answer (a contract purpose always answers the same)."""
    return rule.basis is not None and (rule.needs_consent or rule.opt_out_basis or rule.gpc_applies)


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
    state = current_state(reader, dbapi_connection, rules, holder, rule) if depends_on_state(rule) else None
    return decide(rule, state, now=now, gpc=gpc), state, rule


class ConsentChecker:
    """Fast in-process checks against committed state; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = reader_for(engine.dialect)
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
            raw = self._local.raw = connection.connection.dbapi_connection
        return raw

    def check(
        self,
        rules: ControllerRules,
        holder: Holder,
        target: Target,
        *,
        now: datetime | None = None,
        gpc: bool = False,
    ) -> Decision:
        decision, _, _ = evaluate(
            self._reader,
            self._dbapi_connection(),
            rules,
            holder.code,
            target,
            now=now or datetime.now(UTC),
            gpc=gpc,
        )
        return decision

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
