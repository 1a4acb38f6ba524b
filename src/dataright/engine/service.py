"""Running a rights request against the organisation's datastores: access, erasure, rectification, restriction.

The plan is the traversal graph of the controller's datasets for the identities the request carries. Every
operation checks the live schemas first (``Connector.check``): a missing column or an erasure that would
break a constraint stops the request before anything changes. Access streams each datastore's rows (all
datastores at once, through a bounded queue, so memory stays flat). Erasure walks the graph backwards
(children before the rows that lead to them, which is also the order foreign keys need), one transaction per
table, and records each finished table in ``engine_steps`` with its counts and an audit entry: a run that is
killed resumes after its last finished table when the same request runs again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Literal

import phonenumbers
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataright.audit import service as audit
from dataright.config import Keys
from dataright.connectors.base import (
    PSEUDONYM_PREFIX,
    Connector,
    CrossValues,
    DatasetMismatch,
    DatastoreUnavailable,
    HoldRule,
    Section,
    StepResult,
    TableNode,
    TableRef,
)
from dataright.connectors.registry import open_connector
from dataright.declarations.schema import Declaration
from dataright.engine.graph import TraversalGraph, build_graph
from dataright.engine.holds import cutoff
from dataright.engine.models import EngineRun, EngineStep
from dataright.errors import NotFound, ValidationFailed
from dataright.storage.autocommit import AutocommitConnections
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow

Kind = Literal["access", "erase", "rectify", "restrict"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
QUEUE_CHUNKS = 4
ProgressFn = Callable[[str, int], None]
"""Called with (``dataset.table``, rows) as each step or chunk finishes (the CLI's progress bars)."""


@dataclass(frozen=True)
class Request:
    kind: Kind
    controller_id: str
    identities: Mapping[str, str]
    dry_run: bool = False
    changes: Mapping[str, str] = field(default_factory=dict)
    """For rectification: ``table.field`` (or ``dataset.table.field``) -> the corrected value as typed."""
    lift: bool = False
    """For restriction: lift it instead of setting it."""


@dataclass
class Outcome:
    run_id: uuid.UUID | None
    kind: Kind
    dry_run: bool
    steps: list[StepResult] = field(default_factory=list)
    resumed_after: int = 0
    """Steps a killed earlier run had finished (skipped by this one)."""
    ms: int = 0

    def as_details(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "resumed_after": self.resumed_after,
            "ms": self.ms,
            "steps": [s.as_details() for s in self.steps],
        }


class CorrectionRefused(ValidationFailed):
    """A rectification's corrected value (or its field) the declaration does not allow.

    It names the field and the problem, never the value (personal data). Its text speaks of the correction
    (``correction customers.phone: not a phone number ...``) because it reaches staff in a task's note when the
    ``requests.fulfil`` job fails; the command line says it in terms of its own flag (``--set customers.phone:
    ...``) from ``field`` and ``problem``.
    """

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        """``table.field`` (or ``dataset.table.field``) as given; None when no correction was given at all."""
        self.problem = problem
        super().__init__(f"correction {field}: {problem}" if field is not None else f"corrections: {problem}")


def normalise_identities(raw: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind, value in raw.items():
        value = value.strip()
        if kind == "email":
            if not EMAIL.match(value):
                raise ValidationFailed("--email: not an e-mail address")
            value = value.lower()
        out[kind] = value
    if not out:
        raise ValidationFailed("give at least one identity (--email, --phone or --identity KIND=VALUE)")
    return out


class Engine:
    """Runs requests for one declaration; ``session_factory`` opens sessions on dataright's own database."""

    def __init__(
        self,
        declaration: Declaration,
        *,
        session_factory: sessionmaker[Session],
        keys: Keys,
        environ: Mapping[str, str],
        base_dir: str | None = None,
        actor: str = "engine",
        today: date | None = None,
        retries: int = 2,
        backoff: float = 1.0,
        keep_open: bool = False,
    ) -> None:
        self.declaration = declaration
        self.session_factory = session_factory
        self.keys = keys
        self.environ = environ
        self.base_dir = base_dir
        self.actor = actor
        self.today = today or date.today()
        self.retries = retries
        self.backoff = backoff
        self.keep_open = keep_open
        """Keep connectors (their pools and reflected schemas) between requests, for a long-running worker."""
        self._cache: dict[str, Connector] = {}
        self._checked: set[tuple[str, str]] = set()
        self._graphs: dict[tuple[str, frozenset[str]], TraversalGraph] = {}
        self._audit_connections: AutocommitConnections | None = None
        """A worker's (``keep_open``) connections to dataright's database for the entries of its reads."""

    # -- planning ---------------------------------------------------------------------------
    def graph(self, request: Request) -> TraversalGraph:
        if request.controller_id not in self.declaration.controller_by_id:
            raise NotFound(f"--controller: no controller {request.controller_id!r} in the declaration")
        datasets = self.declaration.datasets_of(request.controller_id)
        if not datasets:
            raise NotFound(f"controller {request.controller_id!r} has no datasets declared")
        key = (request.controller_id, frozenset(request.identities))
        graph = self._graphs.get(key)
        if graph is None:  # the declaration does not change under an engine: one graph per identity kinds
            graph = self._graphs[key] = build_graph(datasets, request.identities.keys(), require_all=False)
        return graph

    def subject_key(self, request: Request) -> str:
        canonical = json.dumps(sorted(request.identities.items()), separators=(",", ":"))
        return hmac.new(self.keys.identity_hash, canonical.encode(), hashlib.sha256).hexdigest()

    def pseudonymise(self, value: str) -> str:
        return PSEUDONYM_PREFIX + hmac.new(self.keys.pseudonym, value.encode(), hashlib.sha256).hexdigest()[:20]

    def _open(self, graph: TraversalGraph, operation: str) -> dict[str, Connector]:
        connectors: dict[str, Connector] = {}
        problems: list[str] = []
        try:
            for dataset_id in dict.fromkeys(r.dataset for r in graph.order):
                connector = self._cache.get(dataset_id) or open_connector(
                    graph.datasets[dataset_id], self.environ, self.base_dir
                )
                connectors[dataset_id] = connector
                if (dataset_id, operation) not in self._checked:
                    found = connector.check(graph.of_dataset(dataset_id), operation)
                    problems.extend(found)
                    if not found and self.keep_open:
                        self._checked.add((dataset_id, operation))
        except BaseException:
            self._release(connectors, failed=True)
            raise
        if problems:
            self._release(connectors, failed=True)
            raise DatasetMismatch(problems)
        if self.keep_open:
            self._cache.update(connectors)
        return connectors

    def _release(self, connectors: Mapping[str, Connector], *, failed: bool = False, dry_run: bool = False) -> None:
        """Close the request's connectors, unless they are kept open (a dry run's are always closed: closing
        rolls back what it did)."""
        for dataset_id, connector in connectors.items():
            if self.keep_open and not failed and not dry_run:
                continue
            connector.close()
            self._cache.pop(dataset_id, None)

    def close(self) -> None:
        self._release(dict(self._cache), failed=True)
        if self._audit_connections is not None:
            self._audit_connections.close()
            self._audit_connections = None

    def _cross(self, graph: TraversalGraph, connectors: Mapping[str, Connector], ids: Mapping[str, str]) -> CrossValues:
        """Values of every reference that crosses datastores, parents first."""
        cross: dict[tuple[TableRef, str], list[Any]] = {}
        for ref in graph.order:
            for edge in graph.nodes[ref].edges_in:
                key = (edge.parent, edge.parent_field)
                if edge.parent.dataset != ref.dataset and key not in cross:
                    parent = graph.nodes[edge.parent]
                    nodes = graph.of_dataset(edge.parent.dataset)
                    cross[key] = connectors[edge.parent.dataset].values(nodes, parent, edge.parent_field, ids, cross)
        return cross

    def _with_retries(self, what: Callable[[], Any]) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return what()
            except DatastoreUnavailable:
                if attempt == self.retries:
                    raise
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    # -- access -----------------------------------------------------------------------------
    def access(
        self, request: Request, *, chunk_rows: int = 1_000, progress: ProgressFn | None = None
    ) -> Iterator[Section]:
        """The person's rows as ``(datastore, table, rows)`` sections, every datastore read at once."""
        graph = self.graph(request)
        connectors = self._with_retries(lambda: self._open(graph, "access"))
        started = time.perf_counter()
        counts: dict[str, int] = {str(r): 0 for r in graph.order}
        try:
            cross = self._with_retries(lambda: self._cross(graph, connectors, request.identities))
            if len(connectors) == 1:  # one datastore: read it here, no thread to hand the rows over
                ((dataset_id, only),) = connectors.items()
                source = only.access(graph.of_dataset(dataset_id), request.identities, cross, chunk_rows=chunk_rows)
            else:
                source = self._read_in_parallel(graph, connectors, request, cross, chunk_rows)
            for item in source:
                counts[f"{item.datastore}.{item.table}"] += len(item.rows)
                if progress is not None:
                    progress(f"{item.datastore}.{item.table}", len(item.rows))
                yield item
        except DatastoreUnavailable as exc:
            self._audit_outcome(request, "waiting", {"reason": str(exc)})
            raise
        finally:
            self._release(connectors, dry_run=request.dry_run)
        ms = int((time.perf_counter() - started) * 1000)
        self._audit_outcome(request, "completed", {"ms": ms, "rows": counts})

    def _read_in_parallel(
        self,
        graph: TraversalGraph,
        connectors: Mapping[str, Connector],
        request: Request,
        cross: CrossValues,
        chunk_rows: int,
    ) -> Iterator[Section]:
        """Every datastore read at once, each in a thread, their sections handed over through a bounded queue."""
        chunks: queue.Queue[Section | BaseException | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        stop = threading.Event()

        def read(dataset_id: str) -> None:
            try:
                nodes = graph.of_dataset(dataset_id)
                for section in connectors[dataset_id].access(nodes, request.identities, cross, chunk_rows=chunk_rows):
                    while not stop.is_set():
                        try:
                            chunks.put(section, timeout=0.5)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
            except BaseException as exc:
                chunks.put(exc)
                return
            chunks.put(None)

        threads = [threading.Thread(target=read, args=(d,), daemon=True) for d in connectors]
        for t in threads:
            t.start()
        running = len(threads)
        try:
            while running:
                item = chunks.get()
                if item is None:
                    running -= 1
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)

    def _audit_outcome(self, request: Request, outcome: str, details: dict[str, Any]) -> None:
        entry: dict[str, Any] = {
            "actor": self.actor,
            "action": f"dsr.{request.kind}.{outcome}",
            "entity_type": "subject_key",
            "entity_id": self.subject_key(request)[:16],
            "controller_id": request.controller_id,
            "details": {"dry_run": request.dry_run, **details},
        }
        bind = self.session_factory.kw.get("bind")
        if isinstance(bind, SAEngine):  # a transaction of its own: the cheapest way to a committed entry
            if self.keep_open and self._audit_connections is None:
                self._audit_connections = AutocommitConnections(bind)
            audit.append_alone(bind, **entry, connections=self._audit_connections)
            return
        with session_scope(self.session_factory) as session:  # sessions that join a caller's transaction
            audit.append_entry(session, **entry)

    # -- changes ----------------------------------------------------------------------------
    def erase(self, request: Request, *, progress: ProgressFn | None = None) -> Outcome:
        holds = {h.id: HoldRule(h.id, None) for h in self.declaration.legal_holds if h.binds(request.controller_id)}
        fiscal_year_end = self.declaration.controller_by_id[request.controller_id].fiscal_year_end

        def step(connector: Connector, nodes: list[TableNode], node: TableNode, cross: CrossValues) -> StepResult:
            rules = {
                hold_id: HoldRule(hold_id, cutoff(self.declaration.hold_by_id[hold_id], self.today, fiscal_year_end))
                if node.table.hold_from
                else rule
                for hold_id, rule in holds.items()
            }
            return connector.erase(
                nodes,
                node,
                request.identities,
                cross,
                pseudonymise=self.pseudonymise,
                holds=rules,
                dry_run=request.dry_run,
            )

        return self._run(request, step, reverse=True, progress=progress)

    def rectify(self, request: Request, *, progress: ProgressFn | None = None) -> Outcome:
        graph = self.graph(request)
        wanted: dict[TableRef, dict[str, str]] = {}
        for name, value in request.changes.items():
            parts = name.split(".")
            matches = [
                r
                for r in graph.order
                if (len(parts) == 2 and r.table == parts[0])
                or (len(parts) == 3 and (r.dataset, r.table) == tuple(parts[:2]))
            ]
            if not matches:
                raise CorrectionRefused(name, "no table of the controller's datasets has this name")
            if len(matches) > 1:
                raise CorrectionRefused(
                    name, f"{len(matches)} tables of the controller's datasets have this name; give dataset.table.field"
                )
            declared = graph.nodes[matches[0]].table.field_by_name.get(parts[-1])
            if declared is None or not declared.rectifiable or declared.references:
                raise CorrectionRefused(name, "not a field the person may correct")
            for category in declared.data_categories:
                if category.startswith("user.contact.email") and not EMAIL.match(value):
                    raise CorrectionRefused(name, "not an e-mail address")
                if category.startswith("user.contact.phone_number"):
                    try:
                        ok = phonenumbers.is_possible_number(phonenumbers.parse(value, None))
                    except phonenumbers.NumberParseException:
                        ok = False
                    if not ok:
                        raise CorrectionRefused(name, "not a phone number in international form (+47...)")
            wanted.setdefault(matches[0], {})[parts[-1]] = value
        if not wanted:
            raise CorrectionRefused(None, "give at least one table.field and its corrected value")

        def step(
            connector: Connector, nodes: list[TableNode], node: TableNode, cross: CrossValues
        ) -> StepResult | None:
            changes = wanted.get(node.ref)
            if not changes:
                return None
            typed: dict[str, Any] = {}
            for column, raw in changes.items():
                try:
                    typed[column] = connector.validate_value(node.table, column, raw)
                except ValueError as exc:
                    raise CorrectionRefused(f"{node.table.name}.{column}", str(exc)) from None
            return connector.rectify(nodes, node, request.identities, cross, typed, dry_run=request.dry_run)

        return self._run(request, step, reverse=False, progress=progress)

    def restrict(self, request: Request, *, progress: ProgressFn | None = None) -> Outcome:
        graph = self.graph(request)
        if not any(n.table.restriction is not None for n in graph.nodes.values()):
            raise ValidationFailed(
                f"no table of {request.controller_id!r}'s datasets declares how to restrict it (restriction: ...)"
            )

        def step(
            connector: Connector, nodes: list[TableNode], node: TableNode, cross: CrossValues
        ) -> StepResult | None:
            if node.table.restriction is None:
                return None
            return connector.restrict(
                nodes, node, request.identities, cross, lift=request.lift, dry_run=request.dry_run
            )

        return self._run(request, step, reverse=False, progress=progress)

    def _run(
        self,
        request: Request,
        step: Callable[[Connector, list[TableNode], TableNode, CrossValues], StepResult | None],
        *,
        reverse: bool,
        progress: ProgressFn | None,
    ) -> Outcome:
        graph = self.graph(request)
        started = time.perf_counter()
        connectors = self._with_retries(lambda: self._open(graph, request.kind))
        outcome = Outcome(None, request.kind, request.dry_run)
        try:
            run, done = self._begin(request)
            outcome.run_id = run
            outcome.resumed_after = len(done)
            cross = self._with_retries(lambda: self._cross(graph, connectors, request.identities))
            order = list(reversed(graph.order)) if reverse else list(graph.order)
            for ref in order:
                if (ref.dataset, ref.table) in done:
                    continue
                nodes = graph.of_dataset(ref.dataset)
                node = graph.nodes[ref]
                connector = connectors[ref.dataset]
                result: StepResult | None = self._with_retries(partial(step, connector, nodes, node, cross))
                if result is None:
                    continue
                outcome.steps.append(result)
                self._finish_step(request, run, result)
                if progress is not None:
                    progress(str(ref), result.rows)
        except DatastoreUnavailable as exc:
            self._fail(request, outcome.run_id, str(exc))
            raise
        finally:
            self._release(connectors, dry_run=request.dry_run)
        outcome.ms = int((time.perf_counter() - started) * 1000)
        self._complete(request, outcome)
        return outcome

    # -- checkpoints --------------------------------------------------------------------------
    def _begin(self, request: Request) -> tuple[uuid.UUID | None, set[tuple[str, str]]]:
        """The run to continue (a killed or failed one for the same request) or a new one; its finished steps."""
        if request.dry_run:
            return None, set()
        key = self.subject_key(request)
        with session_scope(self.session_factory) as session:
            existing = session.scalars(
                select(EngineRun)
                .where(
                    EngineRun.kind == request.kind,
                    EngineRun.controller_id == request.controller_id,
                    EngineRun.subject_key == key,
                    EngineRun.status.in_(("running", "failed")),
                    EngineRun.dry_run.is_(False),
                )
                .order_by(EngineRun.started_at.desc())
                .limit(1)
            ).first()
            if existing is not None and request.kind == "erase":
                steps = session.scalars(select(EngineStep).where(EngineStep.run_id == existing.id)).all()
                existing.status = "running"
                return existing.id, {(s.dataset, s.table_name) for s in steps}
            run = EngineRun(kind=request.kind, controller_id=request.controller_id, subject_key=key)
            session.add(run)
            session.flush()
            audit.append_entry(
                session,
                actor=self.actor,
                action=f"dsr.{request.kind}.started",
                entity_type="engine_run",
                entity_id=run.id,
                controller_id=request.controller_id,
            )
            return run.id, set()

    def _finish_step(self, request: Request, run: uuid.UUID | None, result: StepResult) -> None:
        if run is None:
            return
        with session_scope(self.session_factory) as session:
            session.add(
                EngineStep(
                    run_id=run,
                    dataset=result.dataset,
                    table_name=result.table,
                    rows=result.rows,
                    details=result.as_details(),
                )
            )
            audit.append_entry(
                session,
                actor=self.actor,
                action=f"dsr.{request.kind}.step",
                entity_type="engine_run",
                entity_id=run,
                controller_id=request.controller_id,
                details=result.as_details(),
            )

    def _fail(self, request: Request, run: uuid.UUID | None, reason: str) -> None:
        with session_scope(self.session_factory) as session:
            if run is not None:
                found = session.get(EngineRun, run)
                if found is not None:
                    found.status = "failed"
                    found.error = reason
            audit.append_entry(
                session,
                actor=self.actor,
                action=f"dsr.{request.kind}.waiting",
                entity_type="engine_run",
                entity_id=run or self.subject_key(request)[:16],
                controller_id=request.controller_id,
                details={"reason": reason, "dry_run": request.dry_run},
            )

    def _complete(self, request: Request, outcome: Outcome) -> None:
        with session_scope(self.session_factory) as session:
            if outcome.run_id is not None:
                found = session.get(EngineRun, outcome.run_id)
                if found is not None:
                    found.status = "done"
                    found.finished_at = utcnow()
            audit.append_entry(
                session,
                actor=self.actor,
                action=f"dsr.{request.kind}.completed",
                entity_type="engine_run",
                entity_id=outcome.run_id or self.subject_key(request)[:16],
                controller_id=request.controller_id,
                details=outcome.as_details(),
            )
