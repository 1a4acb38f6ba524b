"""Retention policies: for each rule, which records are due today and why, and what keeps them. Pure.

A rule is enforced where a dataset's table names it (``tables[].retention: [{rule, column}]``): the table's
rows whose ``column`` (the day the trigger happened: the relationship ended, the consent was withdrawn,
the record was made) lies far enough back are due, and so are the rows the dataset's references lead to
from them (a customer's enrollments, lessons, payments and invoices), each erased as its table declares.
A financial-year trigger counts from the end of the controller's own financial year
(``controllers[].fiscal_year_end``).

What keeps a due row: a legal hold on its fields (the row stays, its other personal fields are erased,
until the hold runs out: ``hold_from`` and the hold's period), a restriction of processing (the row's
restriction flag or side table), and an open rights request of the person the row belongs to (the
service asks the requests domain). A kept row keeps the rows it leads from, so no reference is broken.

``problems`` lists what stops a sweep before anything runs (the lint rules and ``retention plan`` report
them with the rule id and file:line): a trigger column that is not declared, a rule that would overwrite a
field a legal hold keeps, a financial-year trigger for a controller without a financial year.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from dataright.connectors.base import Edge, TableNode, TableRef
from dataright.declarations.datasets import Dataset, Deactivation, Strategy, Table, TableRetention
from dataright.declarations.fiscal import last_day_run_out
from dataright.declarations.schema import Declaration, LegalHold, RetentionAction, RetentionRule, Trigger

PathT = tuple[str | int, ...]
ProblemKind = Literal["column", "hold", "fiscal", "binding"]
"""``column``: a trigger column that is not there; ``hold``: the rule would overwrite what a legal hold keeps;
``fiscal``: a financial-year trigger without the controller's financial year; ``binding``: anything else."""
Action = Literal["delete", "anonymise", "pseudonymise", "erase"]
"""``erase``: a row the references lead to from a due row, erased as its table declares."""


@dataclass(frozen=True)
class Problem:
    """Something that stops a rule from running: where it is written (a path into the declaration), the
    retention rule it concerns, and what is wrong."""

    path: PathT
    rule_id: str
    message: str
    kind: ProblemKind = "binding"


@dataclass(frozen=True)
class HoldPolicy:
    """A legal hold as it applies to one table today."""

    hold_id: str
    law: str
    period: str
    fields: tuple[str, ...]
    hold_from: str | None
    cutoff: date | None
    """Rows whose ``hold_from`` is on or after this day are held; None: every row (no ``hold_from``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "hold": self.hold_id,
            "law": self.law,
            "period": self.period,
            "fields": list(self.fields),
            "hold_from": self.hold_from,
            "held_from": self.cutoff.isoformat() if self.cutoff else None,
        }


@dataclass(frozen=True)
class TablePolicy:
    """One table a rule acts on: the rule's own table (``root``) or one its references lead to."""

    node: TableNode
    """The table with the edges from the rule's other tables that lead to it (none for the root)."""
    action: Action
    holds: tuple[HoldPolicy, ...] = ()
    root: bool = False

    @property
    def ref(self) -> TableRef:
        return self.node.ref

    @property
    def table(self) -> Table:
        return self.node.table


@dataclass(frozen=True)
class RulePolicy:
    """A rule on one table of one dataset, worked out for one controller on one day."""

    rule: RetentionRule
    dataset: Dataset
    binding: TableRetention
    path: PathT
    """Where the binding is written (``datasets[i].tables[j].retention[k]``)."""
    action: Literal["delete", "anonymise", "pseudonymise"]
    due_through: date | None
    """Rows whose trigger column is on or before this day are due (None: none is)."""
    tables: tuple[TablePolicy, ...]
    """In the order to act: rows the references lead to first, the rule's own table last."""
    fiscal_year_end: str | None = None
    today: date = field(default_factory=date.today)

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def root(self) -> TablePolicy:
        return self.tables[-1]

    @property
    def deactivate(self) -> Deactivation | None:
        return self.binding.deactivate

    @property
    def kept_fields(self) -> tuple[str, ...]:
        """Fields anonymisation and pseudonymisation leave: the binding's ``keep``, the trigger column (the
        record's date, which the counts need) and the deactivation column."""
        extra = (self.binding.deactivate.column,) if self.binding.deactivate else ()
        return (*self.binding.keep, self.binding.column, *extra)

    @property
    def why(self) -> str:
        period = self.rule.due_period.iso()
        start = f"the end of the financial year ({self.fiscal_year_end})" if self.fiscal else str(self.rule.trigger)
        through = self.due_through.isoformat() if self.due_through else "never"
        return f"{period} after {start}: {self.binding.column} on or before {through}"

    @property
    def fiscal(self) -> bool:
        return self.rule.trigger is Trigger.fiscal_year_end


# ------------------------------------------------------------------------------------------------
# which tables a rule reaches
# ------------------------------------------------------------------------------------------------
def _edges(dataset: Dataset) -> list[Edge]:
    out: list[Edge] = []
    for t in dataset.tables:
        here = TableRef(dataset.id, t.name)
        for f in t.fields:
            for reference in f.references:
                if reference.dataset not in (None, dataset.id) or reference.table not in dataset.table_by_name:
                    continue
                there = TableRef(dataset.id, reference.table)
                if reference.direction == "from":
                    out.append(Edge(there, reference.column, here, f.name))
                else:
                    out.append(Edge(here, f.name, there, reference.column))
    return out


def reach(dataset: Dataset, root: str) -> list[TableNode] | None:
    """The tables the references lead to from ``root`` (itself included), parents first, each with the
    edges that lead to it from the others; None when they lead around in a cycle."""
    edges = _edges(dataset)
    start = TableRef(dataset.id, root)
    seen = {start}
    stack = [start]
    while stack:
        current = stack.pop()
        for e in edges:
            if e.parent == current and e.child not in seen:
                seen.add(e.child)
                stack.append(e.child)
    inside = [e for e in edges if e.parent in seen and e.child in seen and e.child != start]
    indegree = {r: sum(1 for e in inside if e.child == r) for r in seen}
    ready = sorted(r for r, n in indegree.items() if n == 0)
    order: list[TableRef] = []
    while ready:
        r = ready.pop(0)
        order.append(r)
        for e in inside:
            if e.parent == r:
                indegree[e.child] -= 1
                if indegree[e.child] == 0:
                    ready.append(e.child)
                    ready.sort()
    if len(order) != len(seen) or order[0] != start:
        return None
    return [TableNode(r, dataset.table_by_name[r.table], (), tuple(e for e in inside if e.child == r)) for r in order]


# ------------------------------------------------------------------------------------------------
# problems
# ------------------------------------------------------------------------------------------------
def _bindings(declaration: Declaration) -> Iterator[tuple[PathT, Dataset, Table, TableRetention]]:
    for di, d in enumerate(declaration.datasets):
        for ti, t in enumerate(d.tables):
            for ri, b in enumerate(t.retention):
                yield ("datasets", di, "tables", ti, "retention", ri), d, t, b


def _controllers(declaration: Declaration, dataset: Dataset) -> list[str]:
    return [c.id for c in declaration.controllers if dataset.serves(c.id)]


def _holds_of(declaration: Declaration, table: Table, controller_id: str) -> list[tuple[str, LegalHold]]:
    out = []
    for f in table.fields:
        hold = declaration.hold_by_id.get(f.legal_hold) if f.legal_hold else None
        if hold is not None and hold.binds(controller_id):
            out.append((f.name, hold))
    return out


def problems(declaration: Declaration, controller_id: str | None = None) -> list[Problem]:
    """What stops a retention sweep (of ``controller_id``, or of every controller), each at its place."""
    out: list[Problem] = []
    for path, dataset, table, binding in _bindings(declaration):
        controllers = _controllers(declaration, dataset)
        if controller_id is not None:
            if controller_id not in controllers:
                continue
            controllers = [controller_id]
        rule = declaration.retention_by_id.get(binding.rule)
        if rule is None:
            out.append(Problem((*path, "rule"), binding.rule, f"no retention rule {binding.rule!r} is declared"))
            continue
        where = f"{dataset.id}.{table.name}"
        declared = set(table.field_by_name)
        if binding.column not in declared:
            out.append(
                Problem(
                    (*path, "column"),
                    rule.id,
                    f"trigger column {binding.column!r} is not a field of {where}; declare it under fields "
                    "(the date the rule's trigger happened on)",
                    "column",
                )
            )
        for k, name in enumerate(binding.keep):
            if name not in declared:
                out.append(Problem((*path, "keep", k), rule.id, f"{where} declares no field {name!r} to keep"))
        if binding.deactivate is not None and binding.deactivate.column not in declared:
            out.append(
                Problem(
                    (*path, "deactivate", "column"),
                    rule.id,
                    f"{where} declares no field {binding.deactivate.column!r} to deactivate the row with",
                )
            )
        if rule.action is None:
            out.append(Problem((*path, "rule"), rule.id, f"rule {rule.id!r} says no action (delete, anonymise, ...)"))
        elif rule.action is not RetentionAction.delete:
            kept = {*binding.keep, binding.column, *((binding.deactivate.column,) if binding.deactivate else ())}
            for name, hold_id in ((f.name, f.legal_hold) for f in table.fields if f.legal_hold):
                if name not in kept:
                    out.append(
                        Problem(
                            path,
                            rule.id,
                            f"rule {rule.id!r} would {rule.action.value} {where}.{name}, which legal hold "
                            f"{hold_id!r} keeps; add it to keep",
                            "hold",
                        )
                    )
        if len(table.primary_key) > 1:
            out.append(
                Problem(
                    path,
                    rule.id,
                    f"{where} has a composite primary key; the sweep pages through a one-column key",
                )
            )
        nodes = reach(dataset, table.name)
        if nodes is None:
            out.append(Problem(path, rule.id, f"the references from {where} lead around in a cycle"))
            continue
        fiscal_needed: list[str] = []
        if rule.trigger is Trigger.fiscal_year_end:
            fiscal_needed.append(f"rule {rule.id!r}")
        for controller in controllers:
            for node in nodes:
                for _, hold in _holds_of(declaration, node.table, controller):
                    if hold.trigger is Trigger.fiscal_year_end and node.table.hold_from:
                        fiscal_needed.append(f"legal hold {hold.id!r} on {dataset.id}.{node.table.name}")
            if fiscal_needed and declaration.controller_by_id[controller].fiscal_year_end is None:
                out.append(
                    Problem(
                        path,
                        rule.id,
                        f"{', '.join(dict.fromkeys(fiscal_needed))} run(s) from the end of the financial year, "
                        f"but controller {controller!r} declares no fiscal_year_end (MM-DD, such as 12-31)",
                        "fiscal",
                    )
                )
    return out


# ------------------------------------------------------------------------------------------------
# what is due today
# ------------------------------------------------------------------------------------------------
def hold_policies(declaration: Declaration, table: Table, controller_id: str, today: date) -> tuple[HoldPolicy, ...]:
    fiscal_year_end = declaration.controller_by_id[controller_id].fiscal_year_end
    grouped: dict[str, list[str]] = {}
    holds: dict[str, LegalHold] = {}
    for name, hold in _holds_of(declaration, table, controller_id):
        grouped.setdefault(hold.id, []).append(name)
        holds[hold.id] = hold
    out = []
    for hold_id, names in grouped.items():
        hold = holds[hold_id]
        cutoff: date | None = None
        if table.hold_from:
            fiscal = hold.trigger is Trigger.fiscal_year_end
            last = last_day_run_out(today, hold.duration, fiscal=fiscal, month_day=fiscal_year_end)
            cutoff = date.min if last is None else last + timedelta(days=1)
        out.append(HoldPolicy(hold_id, hold.reference, hold.duration.iso(), tuple(names), table.hold_from, cutoff))
    return tuple(out)


def due_through(rule: RetentionRule, today: date, fiscal_year_end: str | None) -> date | None:
    """The latest trigger date whose rows are due on ``today``."""
    fiscal = rule.trigger is Trigger.fiscal_year_end
    return last_day_run_out(today, rule.due_period, fiscal=fiscal, month_day=fiscal_year_end)


def rule_policies(declaration: Declaration, controller_id: str, today: date) -> list[RulePolicy]:
    """Every rule the controller's datasets enforce, worked out for ``today``. Call ``problems`` first:
    a binding with a problem is left out here."""
    bad = {p.path[:6] for p in problems(declaration, controller_id)}
    controller = declaration.controller_by_id[controller_id]
    out: list[RulePolicy] = []
    for path, dataset, table, binding in _bindings(declaration):
        if not dataset.serves(controller_id) or path in bad:
            continue
        rule = declaration.retention_by_id[binding.rule]
        nodes = reach(dataset, table.name)
        if nodes is None or rule.action is None:
            continue
        action: Literal["delete", "anonymise", "pseudonymise"] = rule.action.value
        tables = []
        cascade = action == "delete"
        for node in reversed(nodes if cascade else nodes[:1]):
            root = node.ref.table == table.name
            tables.append(
                TablePolicy(
                    node,
                    action if root else "erase",
                    hold_policies(declaration, node.table, controller_id, today),
                    root,
                )
            )
        out.append(
            RulePolicy(
                rule,
                dataset,
                binding,
                path,
                action,
                due_through(rule, today, controller.fiscal_year_end),
                tuple(tables),
                controller.fiscal_year_end,
                today,
            )
        )
    return out


def erased_values(table: Table, *, action: Action, keep: tuple[str, ...] = ()) -> dict[str, Strategy]:
    """Field -> what the action writes into it (for ``anonymise`` and ``pseudonymise``; ``delete`` and
    ``erase`` follow the table's own erasure). Anonymising is irreversible: a field's pseudonymise or random
    strategy becomes NULL there, since a keyed pseudonym still singles a person out."""
    out: dict[str, Strategy] = {}
    for f in table.fields:
        if f.name in keep or f.legal_hold:
            continue
        if action == "pseudonymise":
            out[f.name] = Strategy.pseudonymise
        elif action == "anonymise":
            strategy = f.erasure.strategy if f.erasure is not None else Strategy.null
            out[f.name] = strategy if strategy is Strategy.redact else Strategy.null
    return out
