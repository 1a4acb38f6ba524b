"""The Connector protocol: what the engine asks of a datastore, and the plan it hands over.

A connector serves one dataset (one datastore). The engine builds the traversal graph (``engine.graph``)
and gives each connector its tables as ``TableNode``s, parents first, with the person's identities and the
values of references that cross from another datastore. The connector turns them into set-based
operations inside its datastore: it never receives or returns one row at a time.

Connectors are found through the ``dataright.connectors`` entry point group (``registry.py``), so a
package can add one (MongoDB, Snowflake, BigQuery) without touching dataright.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, NamedTuple, Protocol

from dataright.declarations.datasets import Dataset, Table
from dataright.errors import DataRightError


@dataclass(frozen=True, order=True)
class TableRef:
    dataset: str
    table: str

    def __str__(self) -> str:
        return f"{self.dataset}.{self.table}"


@dataclass(frozen=True)
class Edge:
    parent: TableRef
    parent_field: str
    child: TableRef
    child_field: str

    def __str__(self) -> str:
        return f"{self.parent}.{self.parent_field} -> {self.child}.{self.child_field}"


@dataclass(frozen=True)
class TableNode:
    ref: TableRef
    table: Table
    identity_fields: tuple[str, ...]
    """This table's fields whose identity kind the request carries (the person is found by them directly)."""
    edges_in: tuple[Edge, ...]
    """How rows are reached from already found tables (a row is the person's if any edge or identity matches)."""


PSEUDONYM_PREFIX = "ps_"
"""Every pseudonym starts so (``Engine.pseudonymise``): a connector never hashes a pseudonym again."""

Identities = Mapping[str, str]
"""Identity kind -> value (``{"email": "kari@example.no"}``), already normalised."""

CrossValues = Mapping[tuple[TableRef, str], Sequence[Any]]
"""For references that cross datastores: (parent table, parent field) -> the person's values of it."""


class Section(NamedTuple):
    """A chunk of one table's rows for the access package: ``(datastore, table, rows)``."""

    datastore: str
    table: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class HoldRule:
    """A legal hold as the connector applies it: rows whose ``hold_from`` is on or after ``cutoff`` are held."""

    hold_id: str
    cutoff: date | None
    """None: the hold applies to every row (the table has no ``hold_from`` column)."""


@dataclass
class StepResult:
    """What one step did (or, in a dry run, would do) to one table: counts only, never data."""

    dataset: str
    table: str
    rows: int = 0
    deleted: int = 0
    held_rows: int = 0
    fields: dict[str, int] = field(default_factory=dict)
    """Field -> rows changed (or that would change)."""
    kept: dict[str, str] = field(default_factory=dict)
    """Field -> the legal hold that kept it."""
    ms: int = 0

    def as_details(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "table": self.table,
            "rows": self.rows,
            "deleted": self.deleted,
            "held_rows": self.held_rows,
            "fields": dict(self.fields),
            "kept": dict(self.kept),
            "ms": self.ms,
        }


class DatastoreUnavailable(DataRightError):
    """A datastore could not be reached or refused the operation; nothing was changed, the task retries."""

    status = 503
    title = "Datastore unavailable"

    def __init__(self, dataset: str, reason: str, table: str | None = None) -> None:
        self.dataset = dataset
        self.table = table
        self.reason = reason
        where = f"{dataset}.{table}" if table else dataset
        super().__init__(f"waiting on datastore {where}: {reason}")


class DatasetMismatch(DataRightError):
    """The declaration and the live datastore disagree, or an operation would break a constraint."""

    status = 422
    title = "Dataset does not fit its datastore"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Pseudonymiser(Protocol):
    def __call__(self, value: str) -> str: ...


class Connector(Protocol):
    """One datastore. Constructed with its dataset and the environment its ``${VAR}`` secrets come from."""

    kind: ClassVar[str]
    dataset: Dataset

    def check(self, nodes: Sequence[TableNode], operation: str) -> list[str]:
        """Problems that stop ``operation`` (access, erase, rectify, restrict) before anything runs: missing
        tables or columns, and erasures that would break NOT NULL, unique or foreign-key constraints."""
        ...

    def access(
        self, nodes: Sequence[TableNode], identities: Identities, cross: CrossValues, *, chunk_rows: int
    ) -> Iterator[Section]:
        """The person's rows, table by table, in chunks of at most ``chunk_rows``."""
        ...

    def values(
        self, nodes: Sequence[TableNode], target: TableNode, column: str, identities: Identities, cross: CrossValues
    ) -> list[Any]:
        """The distinct values of ``target.column`` over the person's rows (for references to other datastores)."""
        ...

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
        """Erase the person's rows of ``target`` in one transaction (or count what would change)."""
        ...

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
        """Set ``changes`` (field -> validated value) on the person's rows of ``target``."""
        ...

    def validate_value(self, table: Table, column: str, value: str) -> Any:
        """``value`` as the column's type, or ``ValueError`` saying why it does not fit, without quoting the value
        (personal data: the message reaches a task's note, the job's error and the log)."""
        ...

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
        """Mark (or unmark) the person's rows of ``target`` as restricted."""
        ...

    def close(self) -> None: ...
