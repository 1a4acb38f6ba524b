"""Planning and running a controller's retention sweep.

``plan`` says what the next run would do (counts per rule, table, action and what keeps rows), changing
nothing; ``run_sweep`` does it. Both refuse before touching anything when a rule cannot run
(``RetentionRefused``: each problem with its rule id and its place in the declaration): the declaration's
own problems (``policies.problems``) and the live datastore's (a trigger column that is not in the table,
an erasure a constraint would refuse).

Open rights requests come from the requests domain's service: the people they are about keep their rows
until the request closes. Every run writes ``retention.run.started``, one ``retention.rule.completed`` (or
``.failed``) per rule with its counts and duration, and ``retention.run.completed`` to the audit trail:
ids and counts, never data. ``SweepOutcome.per_rule()`` gives the rows acted on per rule (for metrics).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dataright.audit import service as audit
from dataright.config import Keys
from dataright.connectors.base import Connector, DatasetMismatch, DatastoreUnavailable, Identities
from dataright.connectors.registry import open_connector
from dataright.connectors.sql.connector import SqlConnector
from dataright.declarations.datasets import Strategy
from dataright.declarations.schema import Declaration
from dataright.errors import NotFound, ValidationFailed
from dataright.requests import service as requests
from dataright.retention.policies import Problem, RulePolicy, erased_values, problems, rule_policies
from dataright.retention.sweeps import ProgressFn, RuleSweep, TableCounts
from dataright.storage.engine import session_scope

DEFAULT_BATCH = 50_000


class RetentionRefused(ValidationFailed):
    """Rules that cannot run; nothing was run. ``problems`` name the rule and the place of each."""

    def __init__(self, found: Sequence[Problem]) -> None:
        self.problems = list(found)
        super().__init__("; ".join(f"{p.rule_id}: {p.message}" for p in self.problems))


@dataclass
class RuleOutcome:
    rule_id: str
    dataset: str
    table: str
    action: str
    why: str
    due_through: date | None
    tables: list[TableCounts] = field(default_factory=list)
    ms: int = 0
    outcome: str = "planned"
    """planned (a plan), completed, failed."""
    error: str | None = None
    holds: dict[str, str] = field(default_factory=dict)
    """Legal hold -> its law and period (``bokføringsloven § 13, P5Y``)."""

    @property
    def acted(self) -> int:
        return sum(t.acted for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "dataset": self.dataset,
            "table": self.table,
            "action": self.action,
            "why": self.why,
            "due_through": self.due_through.isoformat() if self.due_through else None,
            "outcome": self.outcome,
            "error": self.error,
            "holds": dict(self.holds),
            "ms": self.ms,
            "acted": self.acted,
            "tables": [t.as_details() for t in self.tables],
        }


@dataclass
class SweepOutcome:
    controller_id: str
    today: date
    run_id: uuid.UUID | None
    rules: list[RuleOutcome] = field(default_factory=list)
    ms: int = 0

    @property
    def failed(self) -> bool:
        return any(r.outcome == "failed" for r in self.rules)

    def per_rule(self) -> dict[str, int]:
        """Rule id -> rows acted on (deleted, erased, anonymised, pseudonymised, deactivated)."""
        out: dict[str, int] = {}
        for r in self.rules:
            out[r.rule_id] = out.get(r.rule_id, 0) + r.acted + sum(t.deactivated for t in r.tables)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "controller": self.controller_id,
            "today": self.today.isoformat(),
            "run_id": str(self.run_id) if self.run_id else None,
            "ms": self.ms,
            "rules": [r.as_dict() for r in self.rules],
        }


class Retention:
    """A controller's retention rules over its datasets; ``session_factory`` opens dataright's own database
    (audit trail, open requests)."""

    def __init__(
        self,
        declaration: Declaration,
        *,
        controller_id: str,
        session_factory: sessionmaker[Session],
        keys: Keys,
        environ: Mapping[str, str],
        base_dir: str | None = None,
        today: date | None = None,
        batch_size: int = DEFAULT_BATCH,
        actor: str = "retention",
    ) -> None:
        if controller_id not in declaration.controller_by_id:
            raise NotFound(f"--controller: no controller {controller_id!r} in the declaration")
        self.declaration = declaration
        self.controller_id = controller_id
        self.session_factory = session_factory
        self.keys = keys
        self.environ = environ
        self.base_dir = base_dir
        self.today = today or datetime.now(declaration.controller_by_id[controller_id].zone).date()
        """The day on the controller's calendar that decides what is due."""
        self.batch_size = batch_size
        self.actor = actor

    def pseudonymise(self, value: str) -> str:
        return "ps_" + hmac.new(self.keys.pseudonym, value.encode(), hashlib.sha256).hexdigest()[:20]

    def policies(self) -> list[RulePolicy]:
        found = problems(self.declaration, self.controller_id)
        if found:
            raise RetentionRefused(found)
        return rule_policies(self.declaration, self.controller_id, self.today)

    def _people(self) -> list[Identities]:
        with session_scope(self.session_factory, write=False) as session:
            return list(requests.open_request_identities(session, controller_id=self.controller_id, keys=self.keys))

    def _open(self, policies: Sequence[RulePolicy]) -> dict[str, SqlConnector]:
        connectors: dict[str, Connector] = {}
        found: list[Problem] = []
        try:
            for policy in policies:
                dataset = policy.dataset
                if dataset.id not in connectors:
                    connectors[dataset.id] = open_connector(dataset, self.environ, self.base_dir)
                connector = connectors[dataset.id]
                if not isinstance(connector, SqlConnector):
                    found.append(
                        Problem(policy.path, policy.rule_id, f"dataset {dataset.id}: {connector.kind} has no sweep")
                    )
                    continue
                found.extend(self._live_problems(connector, policy))
        except BaseException:
            for c in connectors.values():
                c.close()
            raise
        if found:
            for c in connectors.values():
                c.close()
            raise RetentionRefused(found)
        return {k: c for k, c in connectors.items() if isinstance(c, SqlConnector)}

    def _live_problems(self, connector: SqlConnector, policy: RulePolicy) -> list[Problem]:
        """What the live datastore says against the rule: missing tables or columns, constraints."""
        out: list[Problem] = []
        root = policy.root.table
        try:
            live = connector.table(root.name)
        except DatasetMismatch as exc:
            return [Problem(policy.path, policy.rule_id, m) for m in exc.problems]
        where = f"{policy.dataset.id}.{root.name}"
        if policy.binding.column not in live.c:
            out.append(
                Problem(
                    (*policy.path, "column"),
                    policy.rule_id,
                    f"trigger column {policy.binding.column!r} is not in the live table {where}",
                    "column",
                )
            )
            return out
        nodes = [tp.node for tp in policy.tables]
        operation = "erase" if policy.action == "delete" else "access"
        out.extend(Problem(policy.path, policy.rule_id, m) for m in connector.check(nodes, operation))
        if policy.action == "anonymise":
            for name, strategy in erased_values(root, action="anonymise", keep=policy.kept_fields).items():
                column = live.c.get(name)
                if column is not None and strategy is Strategy.null and not column.nullable:
                    out.append(
                        Problem(
                            policy.path,
                            policy.rule_id,
                            f"{where}.{name} is NOT NULL: anonymising it needs erasure: {{strategy: redact, "
                            "value: ...}} or keep",
                        )
                    )
        return out

    def _sweeps(self, policies: Sequence[RulePolicy], connectors: Mapping[str, SqlConnector]) -> list[RuleSweep]:
        people = self._people()
        return [
            RuleSweep(
                connectors[p.dataset.id],
                p,
                people=people,
                pseudonymise=self.pseudonymise,
                batch_size=self.batch_size,
            )
            for p in policies
        ]

    @staticmethod
    def _outcome(policy: RulePolicy) -> RuleOutcome:
        return RuleOutcome(
            policy.rule_id,
            policy.dataset.id,
            policy.root.table.name,
            policy.action,
            policy.why,
            policy.due_through,
            holds={h.hold_id: f"{h.law}, {h.period}" for tp in policy.tables for h in tp.holds},
        )

    # -- plan ---------------------------------------------------------------------------------------
    def plan(self) -> SweepOutcome:
        """What the next run would do; nothing changes."""
        started = time.perf_counter()
        policies = self.policies()
        connectors = self._open(policies)
        outcome = SweepOutcome(self.controller_id, self.today, None)
        try:
            for sweep in self._sweeps(policies, connectors):
                rule = self._outcome(sweep.policy)
                rule.tables = [sweep.count(tp) for tp in sweep.policy.tables]
                outcome.rules.append(rule)
        finally:
            for c in connectors.values():
                c.close()
        outcome.ms = int((time.perf_counter() - started) * 1000)
        return outcome

    # -- run ----------------------------------------------------------------------------------------
    def run(
        self, progress: ProgressFn | None = None, on_rule: Callable[[RulePolicy], None] | None = None
    ) -> SweepOutcome:
        """Run every rule, one after the other; a rule whose datastore fails is recorded as failed and the
        others still run (``SweepOutcome.failed``). Re-running converges."""
        started = time.perf_counter()
        policies = self.policies()
        connectors = self._open(policies)
        outcome = SweepOutcome(self.controller_id, self.today, uuid.uuid4())
        self._audit("retention.run.started", "retention_run", outcome.run_id, {"rules": len(policies)})
        try:
            for sweep in self._sweeps(policies, connectors):
                if on_rule is not None:
                    on_rule(sweep.policy)
                rule = self._outcome(sweep.policy)
                rule_started = time.perf_counter()
                try:
                    for tp in sweep.policy.tables:
                        rule.tables.append(sweep.run(tp, progress))
                    rule.outcome = "completed"
                except (DatastoreUnavailable, DatasetMismatch) as exc:
                    rule.outcome = "failed"
                    rule.error = str(exc)
                rule.ms = int((time.perf_counter() - rule_started) * 1000)
                outcome.rules.append(rule)
                details = {"run_id": str(outcome.run_id), **rule.as_dict()}
                details.pop("why")
                self._audit(f"retention.rule.{rule.outcome}", "retention_rule", rule.rule_id, details)
        finally:
            for c in connectors.values():
                c.close()
        outcome.ms = int((time.perf_counter() - started) * 1000)
        self._audit(
            "retention.run.completed" if not outcome.failed else "retention.run.failed",
            "retention_run",
            outcome.run_id,
            {"ms": outcome.ms, "per_rule": outcome.per_rule()},
        )
        return outcome

    def _audit(self, action: str, entity_type: str, entity_id: Any, details: dict[str, Any]) -> None:
        with session_scope(self.session_factory) as session:
            audit.append_entry(
                session,
                actor=self.actor,
                action=action,
                entity_type=entity_type,
                entity_id=str(entity_id),
                controller_id=self.controller_id,
                details=details,
            )


def plan(declaration: Declaration, *, controller_id: str, **options: Any) -> SweepOutcome:
    """What the controller's next sweep would do (see ``Retention`` for the options)."""
    return Retention(declaration, controller_id=controller_id, **options).plan()


def run_sweep(
    declaration: Declaration, *, controller_id: str, progress: ProgressFn | None = None, **options: Any
) -> SweepOutcome:
    """Run the controller's sweep: a plain function a job can call (see ``Retention`` for the options)."""
    return Retention(declaration, controller_id=controller_id, **options).run(progress)
