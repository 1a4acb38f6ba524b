"""Sweeps: a retention rule's work pushed into a SQL datastore in set-based, keyset-paginated batches.

For each table a rule reaches (rows the references lead to first, the rule's own table last) the sweep
walks the primary key in batches: one statement puts the next ``batch_size`` keys of due rows after the last
key done into a temporary table (``... WHERE <due> AND pk > :last ORDER BY pk LIMIT n``: an index range, so
no batch rescans what earlier ones passed), and the batch's ``DELETE`` / ``UPDATE`` statements join that
table, in one transaction. Nothing travels through Python but counts and the batch's last key. The same
form runs on PostgreSQL, MariaDB and SQLite; on PostgreSQL a batch that only deletes rows is a plain keyset
range instead (``_delete_batch``).

Deletion reuses the engine's erasure (``SqlConnector.erase_rows``): a ``delete_row`` table loses the row, a
``fields`` table has each field's strategy applied, and a legal hold keeps its fields (and the row, whose
other personal fields are erased). Anonymisation writes NULL (or the declared redaction) into every declared
field the binding does not keep; pseudonymisation writes the keyed-hash pseudonym.

A row is only picked while it still needs the work (``pending``): a deleted row is gone, an erased field
holds its erased value. So a killed sweep that runs again picks up where the datastore is and converges to
the state of an uninterrupted run, and a second run finds nothing to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, and_, case, delete, false, func, literal, not_, or_, select, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from dataright.connectors.base import (
    PSEUDONYM_PREFIX,
    DatasetMismatch,
    DatastoreUnavailable,
    HoldRule,
    Identities,
    Pseudonymiser,
    StepResult,
    TableNode,
)
from dataright.connectors.sql.connector import SqlConnector, _reason
from dataright.declarations.datasets import DataField, FlagRestriction, SideTableRestriction, Strategy
from dataright.engine.graph import GraphInvalid, build_graph
from dataright.retention.policies import RulePolicy, TablePolicy, erased_values

FINISHED = object()
"""The last key of a batch that took every remaining row."""

ProgressFn = Callable[[str, int], None]
"""Called with (``dataset.table``, rows) after each batch."""


@dataclass
class TableCounts:
    """What a rule did (or would do) to one table: counts only."""

    dataset: str
    table: str
    action: str
    acted: int = 0
    """Rows deleted, erased, anonymised or pseudonymised (in a plan: that would be)."""
    deleted: int = 0
    held: dict[str, int] = field(default_factory=dict)
    """Legal hold -> due rows it keeps (their other personal fields erased)."""
    restricted: int = 0
    """Due rows whose processing is restricted: kept."""
    postponed: int = 0
    """Due rows of people with an open rights request: kept until it closes."""
    dependent: int = 0
    """Due rows kept because kept rows of another table lead from them."""
    deactivated: int = 0
    batches: int = 0

    def as_details(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "table": self.table,
            "action": self.action,
            "acted": self.acted,
            "deleted": self.deleted,
            "held": dict(self.held),
            "restricted": self.restricted,
            "postponed": self.postponed,
            "dependent": self.dependent,
            "deactivated": self.deactivated,
            "batches": self.batches,
        }


class RuleSweep:
    """One rule on one SQL datastore: its predicates, its plan counts, its batches."""

    def __init__(
        self,
        connector: SqlConnector,
        policy: RulePolicy,
        *,
        people: Sequence[Identities] = (),
        pseudonymise: Pseudonymiser,
        batch_size: int = 50_000,
    ) -> None:
        self.connector = connector
        self.policy = policy
        self.pseudonymise = pseudonymise
        self.batch_size = batch_size
        self.by_table = {tp.table.name: tp for tp in policy.tables}
        self.people = list(people)
        self.graph_nodes: dict[str, TableNode] = {}
        kinds = {k for ids in self.people for k in ids}
        if kinds:
            try:
                graph = build_graph([policy.dataset], kinds, require_all=False)
                self.graph_nodes = {r.table: n for r, n in graph.nodes.items()}
            except GraphInvalid:
                self.graph_nodes = {}
        self._kept: dict[str, list[Any] | None] = {}
        self.hold_rules: dict[str, dict[str, HoldRule]] = {
            tp.table.name: {h.hold_id: HoldRule(h.hold_id, h.cutoff) for h in tp.holds} for tp in policy.tables
        }

    # -- predicates ------------------------------------------------------------------------------
    def _t(self, tp: TablePolicy) -> Any:
        return self.connector.table(tp.table.name)

    def key(self, tp: TablePolicy) -> Column[Any]:
        pk = self.connector.primary_key(tp.table)
        if len(pk) != 1:
            raise DatasetMismatch([f"{tp.ref}: the sweep pages through a one-column primary key"])
        return pk[0]

    def restricted(self, tp: TablePolicy) -> Any | None:
        t = self._t(tp)
        mechanism = tp.table.restriction
        if isinstance(mechanism, FlagRestriction):
            return t.c[mechanism.flag] == true()
        if isinstance(mechanism, SideTableRestriction):
            side = self.connector.table(mechanism.side_table)
            return self.key(tp).in_(select(side.c[mechanism.key]).where(side.c[mechanism.key].is_not(None)))
        return None

    def postponed(self, tp: TablePolicy) -> Any | None:
        node = self.graph_nodes.get(tp.table.name)
        if node is None or not self.people:
            return None
        nodes = {n.table.name: n for n in self.graph_nodes.values()}
        return or_(*(self.connector.predicate(node, nodes, ids, {}) for ids in self.people))

    def _children(self, tp: TablePolicy) -> list[tuple[TablePolicy, str, str]]:
        """(child, this table's field, child's field) for the rule's tables this one leads to."""
        out = []
        for child in self.policy.tables:
            for e in child.node.edges_in:
                if e.parent == tp.ref:
                    out.append((child, e.parent_field, e.child_field))
        return out

    def _kept_here(self, tp: TablePolicy) -> Any | None:
        """'Something keeps this row', worked out from the tables below it: its restriction, an open
        request of its person, or a kept row of a table it leads to (deleting it would break that row's
        reference)."""
        parts = [p for p in (self.restricted(tp), self.postponed(tp)) if p is not None]
        t = self._t(tp)
        for child, parent_field, child_field in self._children(tp):
            below = self.kept(child)
            if below is None:
                continue
            ct = self._t(child)
            linked = select(ct.c[child_field]).where(ct.c[child_field].is_not(None), below)
            parts.append(and_(t.c[parent_field].is_not(None), t.c[parent_field].in_(linked)))
        return or_(*parts) if parts else None

    def kept(self, tp: TablePolicy) -> Any | None:
        """'This row is kept' as a list of keys, found once per sweep, children first: the rows something
        keeps are few, and one list per table keeps every later statement small."""
        name = tp.table.name
        if name not in self._kept:
            condition = self._kept_here(tp)
            if condition is None:
                self._kept[name] = None
            else:
                key = self.key(tp)
                try:
                    with self.connector.engine.connect() as conn:
                        found = list(conn.execute(select(key).where(condition)).scalars())
                except (DBAPIError, SQLAlchemyError) as exc:
                    raise DatastoreUnavailable(self.policy.dataset.id, _reason(exc), name) from None
                self._kept[name] = found
        keys = self._kept[name]
        return None if not keys else self.key(tp).in_(keys)

    def _not(self, condition: Any | None) -> Any:
        """NOT condition, with NULL counted as false (a NULL flag or identity keeps nothing)."""
        if condition is None:
            return true()
        return case((condition, 1), else_=0) == 0

    def reached(self, tp: TablePolicy) -> Any:
        """The rule's rows of this table before anything keeps them."""
        t = self._t(tp)
        if tp.root:
            if self.policy.due_through is None:
                return false()
            return t.c[self.policy.binding.column] <= self.policy.due_through
        conditions = []
        for e in tp.node.edges_in:
            parent = self.by_table[e.parent.table]
            pt = self._t(parent)
            conditions.append(t.c[e.child_field].in_(select(pt.c[e.parent_field]).where(self.due(parent))))
        return or_(*conditions) if conditions else false()

    def due(self, tp: TablePolicy) -> Any:
        return and_(self.reached(tp), self._not(self.kept(tp)))

    def _not_erased(self, tp: TablePolicy, f: DataField, strategy: Strategy, value: Any) -> Any:
        column = self._t(tp).c[f.name]
        if strategy is Strategy.null:
            return column.is_not(None)
        if strategy is Strategy.redact:
            return or_(column.is_(None), column != literal(value, column.type))
        if strategy is Strategy.pseudonymise:
            if not self._is_text(column):
                return column.is_not(None)
            return and_(column.is_not(None), not_(column.startswith(PSEUDONYM_PREFIX)))
        return false()  # a random value cannot be told from the original: it does not keep a row pending

    @staticmethod
    def _is_text(column: Column[Any]) -> bool:
        try:
            return column.type.python_type is str
        except NotImplementedError:
            return False

    def pending(self, tp: TablePolicy) -> Any:
        """'This due row still needs the work' (false once it is done: a re-run converges)."""
        table = tp.table
        if tp.action in ("anonymise", "pseudonymise"):
            parts = []
            for name, strategy in erased_values(table, action=tp.action, keep=self.policy.kept_fields).items():
                f = table.field_by_name[name]
                value = f.erasure.value if f.erasure is not None else None
                if strategy is Strategy.pseudonymise and not self._is_text(self._t(tp).c[name]):
                    strategy = Strategy.null
                parts.append(self._not_erased(tp, f, strategy, value))
            return or_(*parts) if parts else false()
        held = self.connector.held_predicate(table, self.hold_rules[table.name])
        free = [f for f in table.fields if f.erasure is not None and not f.legal_hold]
        held_fields = [f for f in table.fields if f.erasure is not None and f.legal_hold]

        def any_left(fields: list[DataField]) -> Any:
            parts = [self._not_erased(tp, f, f.erasure.strategy, f.erasure.value) for f in fields if f.erasure]
            return or_(*parts) if parts else false()

        if table.erasure == "delete_row":
            return true() if held is None else or_(not_(held), any_left(free))
        if held is None:
            return any_left(free + held_fields)
        return or_(any_left(free), and_(not_(held), any_left(held_fields)))

    # -- plan -------------------------------------------------------------------------------------
    def count(self, tp: TablePolicy) -> TableCounts:
        """What the next run would do to this table (nothing changes)."""
        t = self._t(tp)
        counts = TableCounts(self.policy.dataset.id, tp.table.name, self._action_name(tp))

        def n(*where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())

        try:
            with self.connector.engine.connect() as conn:
                reached = self.reached(tp)
                kept = self.kept(tp)
                restricted, postponed = self.restricted(tp), self.postponed(tp)
                if kept is not None:
                    total_kept = n(reached, case((kept, 1), else_=0) == 1)
                    if restricted is not None:
                        counts.restricted = n(reached, case((restricted, 1), else_=0) == 1)
                    if postponed is not None:
                        counts.postponed = n(reached, case((postponed, 1), else_=0) == 1)
                    local = [p for p in (restricted, postponed) if p is not None]
                    either = n(reached, case((or_(*local), 1), else_=0) == 1) if local else 0
                    counts.dependent = total_kept - either
                due = and_(reached, self._not(kept), self.pending(tp))
                held = (
                    self.connector.held_predicate(tp.table, self.hold_rules[tp.table.name])
                    if tp.action in ("delete", "erase")
                    else None
                )
                if held is not None and tp.holds:
                    counts.held[tp.holds[0].hold_id] = n(due, held)
                counts.acted = n(due)
                if tp.action in ("delete", "erase") and tp.table.erasure == "delete_row":
                    counts.deleted = counts.acted - sum(counts.held.values())
                if tp.root and self.policy.deactivate is not None:
                    counts.deactivated = n(self._deactivatable(tp), self._not(and_(reached, self._not(kept))))
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.policy.dataset.id, _reason(exc), tp.table.name) from None
        return counts

    def _action_name(self, tp: TablePolicy) -> str:
        if tp.action in ("delete", "erase"):
            return "delete" if tp.table.erasure == "delete_row" else "erase fields"
        return tp.action

    def _deactivatable(self, tp: TablePolicy) -> Any:
        deactivate = self.policy.deactivate
        assert deactivate is not None
        t = self._t(tp)
        column = t.c[deactivate.column]
        return and_(
            t.c[self.policy.binding.column].is_not(None),
            or_(column.is_(None), column != literal(deactivate.value, column.type)),
        )

    # -- run --------------------------------------------------------------------------------------
    def run(self, tp: TablePolicy, progress: ProgressFn | None = None) -> TableCounts:
        counts = TableCounts(self.policy.dataset.id, tp.table.name, self._action_name(tp))
        key = self.key(tp)
        where = and_(self.due(tp), self.pending(tp))
        last: Any = None
        while True:
            step = StepResult(self.policy.dataset.id, tp.table.name)
            batch = where if last is None else and_(where, key > last)
            done, last = self._batch(tp, batch, step, last)
            finished = last is FINISHED
            if not done:
                if finished or last is None:
                    break
                continue  # a range of keys with nothing due in it (``_range_batch``): on to the next
            counts.batches += 1
            counts.acted += done
            counts.deleted += step.deleted
            for hold_id in step.kept.values():
                counts.held[hold_id] = counts.held.get(hold_id, 0) + step.held_rows
                break
            if progress is not None:
                progress(str(tp.ref), done)
            if finished:
                break
        if tp.root and self.policy.deactivate is not None:
            counts.deactivated = self._deactivate(tp, progress)
        return counts

    def _plain_delete(self, tp: TablePolicy) -> bool:
        """On PostgreSQL a batch that only deletes rows is a keyset range (see ``_delete_batch``)."""
        return (
            self.connector.engine.dialect.name == "postgresql"
            and tp.action in ("delete", "erase")
            and tp.table.erasure == "delete_row"
            and self.connector.held_predicate(tp.table, self.hold_rules[tp.table.name]) is None
        )

    def _delete_batch(self, tp: TablePolicy, where: Any, step: StepResult) -> tuple[int, Any]:
        """A keyset range: the batch's upper key found by one indexed query (``... WHERE <due> AND pk > :last
        ORDER BY pk OFFSET n-1 LIMIT 1``), then one ``DELETE ... WHERE <due> AND pk > :last AND pk <= :upper``
        that walks that range of the primary key once. No list of keys is built, and nothing rescans the
        table (an ``IN (SELECT ... LIMIT n)`` would). The last batch has no upper key: it takes the rest and
        returns the ``FINISHED`` marker."""
        t = self._t(tp)
        key = self.key(tp)
        upper_of = select(key).where(where).order_by(key).offset(self.batch_size - 1).limit(1)
        try:
            with self.connector.engine.begin() as conn:
                # each batch is planned for its own bounds: a cached generic plan cannot know that the key
                # range is small and may read and sort the whole table
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
                upper = conn.execute(upper_of).scalar_one_or_none()
                bounded = where if upper is None else and_(where, key <= upper)
                rows = int(conn.execute(delete(t).where(bounded)).rowcount or 0)
        except IntegrityError as exc:
            raise DatasetMismatch([f"{tp.ref}: {_reason(exc)}"]) from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.policy.dataset.id, _reason(exc), tp.table.name) from None
        step.deleted = rows
        return rows, FINISHED if upper is None else upper

    def _range_batch(self, tp: TablePolicy, where: Any, step: StepResult, after: Any) -> tuple[int, Any]:
        """An integer primary key's next ``batch_size`` key values: the range starts at the first key after
        ``after`` (one probe of the key's index, which skips any gap) and ``DELETE ... WHERE <due> AND pk
        BETWEEN :lo AND :hi`` walks it once. No bound is searched for among the due rows, so the sweep reads
        the table in one pass, as one ``DELETE`` would, in transactions of at most ``batch_size`` rows (a range
        of that many integers holds no more). A range with nothing due answers 0 rows and its end."""
        t = self._t(tp)
        key = self.key(tp)
        first = select(func.min(key)) if after is None else select(func.min(key)).where(key > after)
        try:
            with self.connector.engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
                low = conn.execute(first).scalar_one_or_none()
                if low is None:
                    return 0, FINISHED
                high = int(low) + self.batch_size - 1
                rows = int(conn.execute(delete(t).where(and_(where, key >= low, key <= high))).rowcount or 0)
        except IntegrityError as exc:
            raise DatasetMismatch([f"{tp.ref}: {_reason(exc)}"]) from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.policy.dataset.id, _reason(exc), tp.table.name) from None
        step.deleted = rows
        return rows, high

    def _integer_key(self, tp: TablePolicy) -> bool:
        try:
            return self.key(tp).type.python_type is int
        except NotImplementedError:
            return False

    def _batch(self, tp: TablePolicy, where: Any, step: StepResult, after: Any) -> tuple[int, Any]:
        """One batch in one transaction: (rows in it, its last key). The batch's statements join its keys and
        also carry its key range, so the planner walks the primary key index, never the whole table."""
        if self._plain_delete(tp):
            if self._integer_key(tp):
                return self._range_batch(tp, where, step, after)
            return self._delete_batch(tp, where, step)
        connector = self.connector
        t = self._t(tp)
        key = self.key(tp)
        try:
            with connector.engine.begin() as conn:
                node = tp.node
                keys, mine, rows = connector._keys_table(conn, node, where, limit=self.batch_size)
                if not rows:
                    connector._drop_keys(conn)
                    return 0, None
                last = conn.execute(select(func.max(keys.c[key.name]))).scalar_one()
                mine = and_(key <= last, mine) if after is None else and_(key > after, key <= last, mine)
                if tp.action in ("delete", "erase"):
                    connector.erase_rows(
                        conn,
                        tp.table,
                        mine,
                        pseudonymise=self.pseudonymise,
                        holds=self.hold_rules[tp.table.name],
                        result=step,
                    )
                else:
                    plain: dict[str, Any] = {}
                    for name, strategy in erased_values(
                        tp.table, action=tp.action, keep=self.policy.kept_fields
                    ).items():
                        f = tp.table.field_by_name[name]
                        if strategy is Strategy.pseudonymise and self._is_text(t.c[name]):
                            connector._pseudonymise(conn, t, name, mine, self.pseudonymise)
                        elif strategy is Strategy.redact and f.erasure is not None:
                            plain[name] = literal(f.erasure.value, t.c[name].type)
                        else:
                            plain[name] = None
                    if plain:
                        conn.execute(update(t).where(mine).values(plain))
                connector._drop_keys(conn)
                return rows, last
        except IntegrityError as exc:
            raise DatasetMismatch([f"{tp.ref}: {_reason(exc)}"]) from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DatastoreUnavailable(self.policy.dataset.id, _reason(exc), tp.table.name) from None

    def _deactivate(self, tp: TablePolicy, progress: ProgressFn | None) -> int:
        deactivate = self.policy.deactivate
        assert deactivate is not None
        t = self._t(tp)
        key = self.key(tp)
        where = self._deactivatable(tp)
        last: Any = None
        total = 0
        while True:
            batch = where if last is None else and_(where, key > last)
            try:
                with self.connector.engine.begin() as conn:
                    keys, mine, rows = self.connector._keys_table(conn, tp.node, batch, limit=self.batch_size)
                    if rows:
                        last = conn.execute(select(func.max(keys.c[key.name]))).scalar_one()
                        value = literal(deactivate.value, t.c[deactivate.column].type)
                        conn.execute(update(t).where(mine).values({deactivate.column: value}))
                    self.connector._drop_keys(conn)
            except (DBAPIError, SQLAlchemyError) as exc:
                raise DatastoreUnavailable(self.policy.dataset.id, _reason(exc), tp.table.name) from None
            if not rows:
                return total
            total += rows
            if progress is not None:
                progress(str(tp.ref), rows)


def sweep_counts(sweep: RuleSweep) -> list[TableCounts]:
    return [sweep.count(tp) for tp in sweep.policy.tables]


def run_rule(sweep: RuleSweep, progress: ProgressFn | None = None) -> tuple[list[TableCounts], int]:
    """Run one rule, table by table in the policy's order; (counts, milliseconds)."""
    started = time.perf_counter()
    counts = [sweep.run(tp, progress) for tp in sweep.policy.tables]
    return counts, int((time.perf_counter() - started) * 1000)
