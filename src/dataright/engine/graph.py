"""The traversal graph: from a person's identity fields over the references to every table that holds them.

Nodes are tables (``dataset.table``). A table is a *root* when it has an identity field of a kind the
request carries (``email``); an edge ``parent.field -> child.field`` says: the child's rows whose field
holds a value of the parent's (already found) rows' field belong to the person too. The graph is checked
once: every table must be reachable from some identity, and there must be no cycle (a cycle has no first
table to read and no safe order to erase in); both are reported by name.

Pure: no database here. Connectors turn each table's ``TableNode`` into statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dataright.connectors.base import Edge, TableNode, TableRef
from dataright.declarations.datasets import Dataset
from dataright.errors import ValidationFailed


class GraphInvalid(ValidationFailed):
    """The datasets cannot be traversed: unreachable tables or a cycle, each named."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class TraversalGraph:
    nodes: dict[TableRef, TableNode]
    order: tuple[TableRef, ...]
    """Parents before children: the order to read in; erasure walks it backwards."""
    datasets: dict[str, Dataset] = field(default_factory=dict)

    def of_dataset(self, dataset_id: str) -> list[TableNode]:
        return [self.nodes[r] for r in self.order if r.dataset == dataset_id]

    def ancestors(self, ref: TableRef) -> set[TableRef]:
        seen: set[TableRef] = set()
        stack = [e.parent for e in self.nodes[ref].edges_in]
        while stack:
            r = stack.pop()
            if r not in seen:
                seen.add(r)
                stack.extend(e.parent for e in self.nodes[r].edges_in)
        return seen


def all_identity_kinds(datasets: Iterable[Dataset]) -> set[str]:
    return {f.identity for d in datasets for t in d.tables for f in t.fields if f.identity is not None}


def build_graph(
    datasets: Iterable[Dataset], identity_kinds: Iterable[str] | None = None, *, require_all: bool = True
) -> TraversalGraph:
    """The graph over ``datasets`` for a request carrying ``identity_kinds`` (all declared kinds when None).

    Raises ``GraphInvalid`` naming every cycle, and every unreachable table when ``require_all`` (validation;
    a request that carries fewer identity kinds leaves out the tables only the others lead to).
    """
    by_id = {d.id: d for d in datasets}
    kinds = set(identity_kinds) if identity_kinds is not None else all_identity_kinds(by_id.values())
    edges: list[Edge] = []
    problems: list[str] = []
    for d in by_id.values():
        for t in d.tables:
            here = TableRef(d.id, t.name)
            for f in t.fields:
                for reference in f.references:
                    target_ds = reference.dataset or d.id
                    if target_ds not in by_id or reference.table not in by_id[target_ds].table_by_name:
                        problems.append(
                            f"{here}.{f.name} references {target_ds}.{reference.field}, which is not declared"
                        )
                        continue
                    there = TableRef(target_ds, reference.table)
                    if reference.direction == "from":
                        edges.append(Edge(there, reference.column, here, f.name))
                    else:
                        edges.append(Edge(here, f.name, there, reference.column))
    refs = [TableRef(d.id, t.name) for d in by_id.values() for t in d.tables]
    tables = {TableRef(d.id, t.name): t for d in by_id.values() for t in d.tables}
    into: dict[TableRef, list[Edge]] = {r: [] for r in refs}
    out: dict[TableRef, list[Edge]] = {r: [] for r in refs}
    for e in edges:
        into[e.child].append(e)
        out[e.parent].append(e)
    roots = {r: tuple(f.name for f in tables[r].fields if f.identity in kinds) for r in refs}

    reached: set[TableRef] = set()
    stack = [r for r in refs if roots[r]]
    while stack:
        r = stack.pop()
        if r in reached:
            continue
        reached.add(r)
        stack.extend(e.child for e in out[r])
    for r in refs:
        if r not in reached and require_all:
            problems.append(
                f"table {r} is not reachable from an identity field ({', '.join(sorted(kinds)) or 'none given'}): "
                "add an identity field or a reference that leads to it"
            )
    # cycles: Kahn's algorithm over the reached tables; what is left sits on a cycle
    indegree = {r: sum(1 for e in into[r] if e.parent in reached) for r in reached}
    ready = sorted(r for r in reached if indegree[r] == 0)
    order: list[TableRef] = []
    while ready:
        r = ready.pop(0)
        order.append(r)
        for e in out[r]:
            indegree[e.child] -= 1
            if indegree[e.child] == 0:
                ready.append(e.child)
                ready.sort()
    left = reached - set(order)
    if left:
        problems.append(
            "these tables reference each other in a cycle (drop or reverse one reference): "
            + " -> ".join(str(r) for r in _cycle(left, into))
        )
    if problems:
        raise GraphInvalid(problems)
    nodes = {r: TableNode(r, tables[r], roots[r], tuple(into[r])) for r in order}
    return TraversalGraph(nodes, tuple(order), by_id)


def _cycle(left: set[TableRef], into: dict[TableRef, list[Edge]]) -> list[TableRef]:
    """One cycle among ``left`` (every one of them has a parent among them), parent first, closed."""
    current = min(left)
    path = [current]
    seen = {current: 0}
    while True:
        parent = min(e.parent for e in into[current] if e.parent in left)
        if parent in seen:
            cycle = [*path[seen[parent] :], parent]
            return cycle[::-1]
        seen[parent] = len(path)
        path.append(parent)
        current = parent
