"""Before an erasure runs: would any of its statements break a constraint of the live schema?

Checked against the reflected tables, so a NOT NULL, unique or foreign-key constraint is an error naming the
dataset, table and column before a single row changes, instead of a failure half-way through a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import String

from dataright.connectors.base import TableNode
from dataright.declarations.datasets import Strategy

if TYPE_CHECKING:
    from dataright.connectors.sql.connector import SqlConnector

PSEUDONYM_LENGTH = 23  # "ps_" and 20 hex digits


def _unique_columns(connector: SqlConnector, name: str) -> set[frozenset[str]]:
    t = connector.table(name)
    found = {frozenset(c.name for c in t.primary_key.columns)}
    for constraint in t.constraints:
        if type(constraint).__name__ == "UniqueConstraint":
            found.add(frozenset(c.name for c in constraint.columns))  # type: ignore[attr-defined]
    for index in t.indexes:
        if index.unique:
            found.add(frozenset(c.name for c in index.columns))
    return found


def erase_problems(connector: SqlConnector, node: TableNode, nodes: Mapping[str, TableNode]) -> list[str]:
    declared = node.table
    where = f"{connector.dataset.id}.{declared.name}"
    t = connector.table(declared.name)
    out: list[str] = []
    unique = _unique_columns(connector, declared.name)
    fk_columns = {c.parent.name for fk in t.foreign_keys for c in [fk]}
    holds = {f.legal_hold for f in declared.fields if f.legal_hold}
    if len(holds) > 1:
        out.append(f"{where}: fields name different legal holds ({', '.join(sorted(holds))}); one hold per table")
    for f in declared.fields:
        if f.erasure is None:
            continue
        column = t.c[f.name]
        strategy = f.erasure.strategy
        at = f"{where}.{f.name}"
        if strategy is Strategy.null and not column.nullable:
            out.append(f"{at}: erasure sets NULL but the column is NOT NULL")
        if strategy is Strategy.redact and any(f.name in u and len(u) == 1 for u in unique):
            out.append(
                f"{at}: a fixed redaction would repeat one value in a unique column (use random or pseudonymise)"
            )
        if strategy is not Strategy.null and f.name in fk_columns:
            out.append(f"{at}: a {strategy.value} value would not match the row this foreign key points at")
        if strategy in (Strategy.pseudonymise, Strategy.random):
            if not isinstance(column.type, String):
                out.append(f"{at}: {strategy.value} writes text, but the column is {column.type}")
            elif strategy is Strategy.pseudonymise and (column.type.length or PSEUDONYM_LENGTH) < PSEUDONYM_LENGTH:
                out.append(
                    f"{at}: a pseudonym needs {PSEUDONYM_LENGTH} characters; the column holds {column.type.length}"
                )
        if strategy is Strategy.redact:
            try:
                column.type.python_type(f.erasure.value)
            except (TypeError, ValueError, NotImplementedError):
                out.append(f"{at}: the redaction value {f.erasure.value!r} does not fit a {column.type} column")
    if declared.erasure == "delete_row":
        out.extend(_delete_blocked_by(connector, node, nodes))
    return out


def _delete_blocked_by(connector: SqlConnector, node: TableNode, nodes: Mapping[str, TableNode]) -> list[str]:
    """Foreign keys from other tables that deleting ``node``'s rows would leave dangling."""
    out: list[str] = []
    name = node.table.name
    for other, fk in connector.referenced_by(name):
        options: Mapping[str, Any] = fk.get("options") or {}
        if str(options.get("ondelete", "")).upper() in ("CASCADE", "SET NULL"):
            continue
        columns = list(fk["constrained_columns"])
        child = nodes.get(other)
        via_fk = child is not None and any(
            e.parent.table == name and e.child_field in columns and e.parent.dataset == connector.dataset.id
            for e in child.edges_in
        )
        if child is not None and via_fk:
            table = child.table
            held = any(f.legal_hold for f in table.fields)
            if table.erasure == "delete_row" and not held:
                continue
            if all(
                (f := table.field_by_name.get(c)) is not None
                and f.erasure is not None
                and f.erasure.strategy is Strategy.null
                and not f.legal_hold
                for c in columns
            ):
                continue
        out.append(
            f"{connector.dataset.id}.{name}: deleting its rows would break the foreign key "
            f"{other}({', '.join(columns)}) -> {name}: delete or null those rows too (declare {other} reached over "
            "that reference with erasure: delete_row, or its column with strategy null), or keep these rows"
        )
    return out
