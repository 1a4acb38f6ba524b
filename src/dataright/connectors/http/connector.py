"""The declarative HTTP connector: a SaaS API as a datastore, from a YAML definition (``definition.py``).

The person's rows of a table are found the way the SQL connector's predicate finds them, one call per
distinct value instead of a statement: by each identity field the request carries, and by the values of the
already found parent rows (or of another datastore's, handed over as cross values) for each reference. An
API has no transaction: every change is idempotent instead (a delete of a row that is gone counts nothing, a
pseudonym is never hashed again), so a request that stopped half-way converges when it runs again.
"""

from __future__ import annotations

import secrets as random_secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from dataright.connectors.base import (
    PSEUDONYM_PREFIX,
    CrossValues,
    DatasetMismatch,
    HoldRule,
    Identities,
    Pseudonymiser,
    Section,
    StepResult,
    TableNode,
)
from dataright.connectors.http.client import ApiClient, dig, placeholders
from dataright.connectors.http.definition import Endpoint, load_definition
from dataright.declarations.datasets import Dataset, FlagRestriction, Strategy, expand
from dataright.declarations.datasets import Table as DeclaredTable

RANDOM_PREFIX = "rnd_"


class HttpConnector:
    kind: ClassVar[str] = "http"

    def __init__(self, dataset: Dataset, *, environ: Mapping[str, str], base_dir: str | None = None) -> None:
        self.dataset = dataset
        assert dataset.http is not None
        where = f"dataset {dataset.id}"
        self.definition = load_definition(dataset.http.definition, base_dir)
        secrets = {
            name: expand(value, environ, where=f"{where} http.secrets.{name}")
            for name, value in dataset.http.secrets.items()
        }
        base_url = expand(dataset.http.base_url, environ, where=f"{where} http.base_url")
        self.client = ApiClient(dataset.id, base_url, self.definition, secrets)

    # -- before anything runs -------------------------------------------------------------------
    def _endpoint(self, name: str) -> Endpoint:
        found = self.definition.endpoints.get(name)
        if found is None:
            raise DatasetMismatch([f"{self.dataset.id}.{name}: the HTTP definition has no endpoint for this table"])
        return found

    def check(self, nodes: Sequence[TableNode], operation: str) -> list[str]:
        problems: list[str] = []
        for node in nodes:
            name = f"{self.dataset.id}.{node.table.name}"
            endpoint = self.definition.endpoints.get(node.table.name)
            if endpoint is None:
                problems.append(f"{name}: the HTTP definition {self.definition.name!r} has no endpoint for this table")
                continue
            for field in {*node.identity_fields, *(e.child_field for e in node.edges_in)}:
                if endpoint.read_by(field) is None:
                    problems.append(f"{name}: the HTTP definition cannot find rows by {field} (add a read by it)")
            for write in (endpoint.update, endpoint.delete):
                if write is not None:
                    unknown = placeholders(write.path) - {f.name for f in node.table.fields} - {endpoint.key}
                    unknown -= set(self.client.secrets)
                    if unknown:
                        problems.append(
                            f"{name}: {write.path} names {', '.join(sorted(unknown))}, not fields of the table"
                        )
            if operation == "erase":
                table = node.table
                wants_update = any(f.erasure is not None for f in table.fields)
                if table.erasure == "delete_row" and endpoint.delete is None:
                    problems.append(f"{name}: erasure deletes rows but the HTTP definition has no delete")
                if wants_update and endpoint.update is None:
                    problems.append(f"{name}: fields are erased but the HTTP definition has no update")
            elif operation == "restrict" and node.table.restriction is not None:
                if not isinstance(node.table.restriction, FlagRestriction):
                    problems.append(f"{name}: an API restricts by a flag field, not a side table")
                elif endpoint.update is None:
                    problems.append(f"{name}: restriction sets a flag but the HTTP definition has no update")
        return problems

    # -- finding the person's rows --------------------------------------------------------------
    def _find(
        self, nodes: Sequence[TableNode], upto: TableNode, identities: Identities, cross: CrossValues
    ) -> dict[str, list[dict[str, Any]]]:
        """The person's rows of ``upto`` and of every table before it (parents first), by key."""
        found: dict[str, list[dict[str, Any]]] = {}
        for node in nodes:
            found[node.table.name] = self._rows(node, found, identities, cross)
            if node.table.name == upto.table.name:
                break
        return found

    def _rows(
        self,
        node: TableNode,
        found: Mapping[str, list[dict[str, Any]]],
        identities: Identities,
        cross: CrossValues,
    ) -> list[dict[str, Any]]:
        endpoint = self._endpoint(node.table.name)
        lookups: dict[str, set[Any]] = {}
        for name in node.identity_fields:
            kind = node.table.field_by_name[name].identity
            if kind is not None and kind in identities:
                lookups.setdefault(name, set()).add(identities[kind])
        for edge in node.edges_in:
            if edge.parent.dataset == self.dataset.id:
                parents = found.get(edge.parent.table, [])
                values = {r.get(edge.parent_field) for r in parents}
            else:
                values = set(cross.get((edge.parent, edge.parent_field), ()))
            lookups.setdefault(edge.child_field, set()).update(v for v in values if v is not None)
        rows: dict[Any, dict[str, Any]] = {}
        for field, values in lookups.items():
            read = endpoint.read_by(field)
            if read is None:
                raise DatasetMismatch([f"{self.dataset.id}.{node.table.name}: cannot find rows by {field}"])
            for value in sorted(values, key=str):
                for item in self.client.read(read, value, table=node.table.name):
                    for name, where in endpoint.fields.items():
                        item[name] = dig(item, where)
                    if item.get(field) is not None and str(item.get(field)) != str(value) and not read.single:
                        continue  # an API that filters loosely (prefix, case) must not hand us someone else
                    rows[item.get(endpoint.key, id(item))] = item
        return list(rows.values())

    def _project(self, table: DeclaredTable, endpoint: Endpoint, row: Mapping[str, Any]) -> dict[str, Any]:
        names = [endpoint.key, *(f.name for f in table.fields)]
        return {n: row.get(n) for n in dict.fromkeys(names)}

    def access(
        self, nodes: Sequence[TableNode], identities: Identities, cross: CrossValues, *, chunk_rows: int
    ) -> Iterator[Section]:
        found: dict[str, list[dict[str, Any]]] = {}
        for node in nodes:
            rows = self._rows(node, found, identities, cross)
            found[node.table.name] = rows
            endpoint = self._endpoint(node.table.name)
            projected = [self._project(node.table, endpoint, r) for r in rows]
            for start in range(0, len(projected), chunk_rows):
                yield Section(self.dataset.id, node.table.name, projected[start : start + chunk_rows])

    def values(
        self, nodes: Sequence[TableNode], target: TableNode, column: str, identities: Identities, cross: CrossValues
    ) -> list[Any]:
        rows = self._find(nodes, target, identities, cross)[target.table.name]
        return sorted({r[column] for r in rows if r.get(column) is not None}, key=str)

    # -- changes --------------------------------------------------------------------------------
    def _held(self, table: DeclaredTable, row: Mapping[str, Any], rule: HoldRule | None) -> bool:
        if rule is None:
            return False
        if rule.cutoff is None or table.hold_from is None:
            return True
        raw = row.get(table.hold_from)
        if raw is None:
            return False
        day = _as_date(raw)
        return day is None or day >= rule.cutoff

    def erase(
        self,
        nodes: Sequence[TableNode],
        target: TableNode,
        identities: Identities,
        cross: CrossValues,
        *,
        pseudonymise: Pseudonymiser,
        holds: Mapping[str, HoldRule],
        dry_run: bool,
    ) -> StepResult:
        table = target.table
        endpoint = self._endpoint(table.name)
        result = StepResult(self.dataset.id, table.name)
        rows = self._find(nodes, target, identities, cross)[table.name]
        result.rows = len(rows)
        held_fields = {f.name: f.legal_hold for f in table.fields if f.legal_hold}
        rule = holds.get(next(iter(held_fields.values()))) if held_fields else None
        for row in rows:
            held = self._held(table, row, rule)
            if held:
                result.held_rows += 1
                result.kept = {name: str(hold) for name, hold in held_fields.items()}
            if table.erasure == "delete_row" and not held:
                assert endpoint.delete is not None
                if dry_run or self.client.write(endpoint.delete, row, {}, table=table.name):
                    result.deleted += 1
                continue
            changes: dict[str, Any] = {}
            for f in table.fields:
                if f.erasure is None or (f.legal_hold and held):
                    continue
                current = row.get(f.name)
                value = _erased(f.erasure.strategy, f.erasure.value, current, pseudonymise)
                if value != current:
                    changes[f.name] = value
            if not changes:
                continue
            assert endpoint.update is not None
            if not dry_run:
                self.client.write(endpoint.update, row, changes, table=table.name)
            for name in changes:
                result.fields[name] = result.fields.get(name, 0) + 1
        return result

    def rectify(
        self,
        nodes: Sequence[TableNode],
        target: TableNode,
        identities: Identities,
        cross: CrossValues,
        changes: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> StepResult:
        endpoint = self._endpoint(target.table.name)
        if endpoint.update is None:
            raise DatasetMismatch([f"{self.dataset.id}.{target.table.name}: the HTTP definition has no update"])
        result = StepResult(self.dataset.id, target.table.name)
        rows = self._find(nodes, target, identities, cross)[target.table.name]
        for row in rows:
            if not dry_run:
                self.client.write(endpoint.update, row, changes, table=target.table.name)
            result.rows += 1
        result.fields = {name: result.rows for name in changes}
        return result

    def validate_value(self, table: DeclaredTable, column: str, value: str) -> Any:
        if len(value) > 5_000:
            raise ValueError("longer than 5,000 characters")
        return value

    def restrict(
        self,
        nodes: Sequence[TableNode],
        target: TableNode,
        identities: Identities,
        cross: CrossValues,
        *,
        lift: bool,
        dry_run: bool,
    ) -> StepResult:
        mechanism = target.table.restriction
        if not isinstance(mechanism, FlagRestriction):
            raise DatasetMismatch([f"{self.dataset.id}.{target.table.name}: an API restricts by a flag field"])
        endpoint = self._endpoint(target.table.name)
        if endpoint.update is None:
            raise DatasetMismatch([f"{self.dataset.id}.{target.table.name}: the HTTP definition has no update"])
        result = StepResult(self.dataset.id, target.table.name)
        for row in self._find(nodes, target, identities, cross)[target.table.name]:
            if _truthy(row.get(mechanism.flag)) == (not lift):
                continue
            if not dry_run:
                self.client.write(endpoint.update, row, {mechanism.flag: not lift}, table=target.table.name)
            result.rows += 1
        result.fields = {mechanism.flag: result.rows}
        return result

    def close(self) -> None:
        self.client.close()


def _erased(strategy: Strategy, fixed: str | int | None, current: Any, pseudonymise: Pseudonymiser) -> Any:
    if current is None:
        return None
    if strategy is Strategy.null:
        return None
    if strategy is Strategy.redact:
        return fixed
    if strategy is Strategy.pseudonymise:
        text = str(current)
        return text if text.startswith(PSEUDONYM_PREFIX) else pseudonymise(text)
    if strategy is Strategy.random:
        text = str(current)
        return text if text.startswith(RANDOM_PREFIX) else RANDOM_PREFIX + random_secrets.token_hex(8)
    raise AssertionError(f"unknown strategy {strategy}")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC).date()  # epoch seconds, as Stripe's created
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
