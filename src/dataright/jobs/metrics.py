"""Prometheus metrics, read from the database at each scrape.

Every figure comes from the tables, not from counters in this process: a server and any number of
``dataright worker`` processes share one database, so whichever server is scraped answers for all of them,
and a restart loses nothing. Counts only, never personal data.

* ``dataright_jobs{kind,state}``: jobs by kind and state (queue depth: ``queued``, ``waiting``, ``running``).
* ``dataright_job_duration_seconds{kind}``: a histogram of the last attempt of finished jobs.
* ``dataright_job_failed_attempts_total{kind}``: attempts that failed or whose worker died.
* ``dataright_requests_overdue{controller}``: open rights requests past their binding deadline.
* ``dataright_schedule_fired_total{schedule}``: how often each schedule fired.
* ``dataright_breach_clocks{controller,clock,state}``: breaches not closed whose assessment, authority or
  individuals clock is ``running``, ``due_soon`` (under 24 hours left) or ``overdue``: alert on these.
* ``dataright_retention_rows_total{rule,action}``: rows each retention rule acted on (deleted, anonymised,
  pseudonymised, deactivated), summed over the sweeps recorded in the audit trail
  (``retention.rule.completed`` entries hold the rule, its action and the count).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from dataright.audit.models import AuditEntry
from dataright.breach import service as breaches
from dataright.jobs.models import Job, JobSchedule, JobState
from dataright.requests import service as requests
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow

BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
FINISHED = (JobState.succeeded.value, JobState.failed.value)
RETENTION_DONE = "retention.rule.completed"


def _durations(session: Session) -> Iterator[Metric]:
    columns: list[Any] = [Job.kind, func.count(), func.coalesce(func.sum(Job.duration_ms), 0)]
    columns += [func.sum(case((Job.duration_ms <= int(b * 1000), 1), else_=0)).cast(Integer) for b in BUCKETS]
    rows = session.execute(
        select(*columns).where(Job.state.in_(FINISHED), Job.duration_ms.is_not(None)).group_by(Job.kind)
    )
    family = HistogramMetricFamily(
        "dataright_job_duration_seconds", "How long the last attempt of finished jobs ran.", labels=["kind"]
    )
    for kind, count, total_ms, *cumulative in rows:
        buckets = [(str(b), float(n or 0)) for b, n in zip(BUCKETS, cumulative, strict=True)]
        buckets.append(("+Inf", float(count)))
        family.add_metric([kind], buckets, float(total_ms) / 1000.0)
    yield family


def _jobs(session: Session) -> Iterator[Metric]:
    depth = GaugeMetricFamily("dataright_jobs", "Jobs by kind and state.", labels=["kind", "state"])
    failed = CounterMetricFamily(
        "dataright_job_failed_attempts", "Job attempts that failed or whose worker died.", labels=["kind"]
    )
    still_counting = (JobState.succeeded.value, JobState.running.value)
    lost = case((Job.state.in_(still_counting), Job.attempts - 1), else_=Job.attempts)
    seen: dict[str, dict[str, int]] = {}
    for kind, state, n in session.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)):
        seen.setdefault(kind, {})[state] = int(n)
    for kind, states in sorted(seen.items()):
        for state in JobState:
            depth.add_metric([kind, state.value], float(states.get(state.value, 0)))
    for kind, n in session.execute(select(Job.kind, func.sum(lost)).group_by(Job.kind)):
        failed.add_metric([kind], float(n or 0))
    yield depth
    yield failed


def _schedules(session: Session) -> Iterator[Metric]:
    fired = CounterMetricFamily("dataright_schedule_fired", "How often each schedule fired.", labels=["schedule"])
    for name, n in session.execute(select(JobSchedule.name, JobSchedule.fired)):
        fired.add_metric([name], float(n))
    yield fired


def _requests(session: Session) -> Iterator[Metric]:
    overdue = GaugeMetricFamily(
        "dataright_requests_overdue", "Open rights requests past their binding deadline.", labels=["controller"]
    )
    for controller, n in sorted(requests.overdue_counts(session, today=utcnow().date()).items()):
        overdue.add_metric([controller], float(n))
    yield overdue


def _breaches(session: Session) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "dataright_breach_clocks",
        "Breaches not closed by controller, legal clock and its state (running, due_soon, overdue).",
        labels=["controller", "clock", "state"],
    )
    for (controller, clock, state), n in sorted(breaches.clock_counts(session).items()):
        family.add_metric([controller, clock, state], float(n))
    yield family


def _retention(session: Session) -> Iterator[Metric]:
    rows = CounterMetricFamily(
        "dataright_retention_rows", "Rows retention rules acted on, by rule and action.", labels=["rule", "action"]
    )
    totals: dict[tuple[str, str], float] = {}
    for details in session.scalars(select(AuditEntry.details).where(AuditEntry.action == RETENTION_DONE)):
        if not isinstance(details, dict):
            continue
        key = (str(details.get("rule", "")), str(details.get("action", "")))
        counted = [details.get("acted", 0)]  # as the sweep's per-rule figure: acted on, plus deactivated
        counted += [t.get("deactivated", 0) for t in details.get("tables", []) if isinstance(t, dict)]
        totals[key] = totals.get(key, 0.0) + sum(float(n) for n in counted if isinstance(n, int | float))
    for (rule, action), n in sorted(totals.items()):
        rows.add_metric([rule, action], n)
    yield rows


class DatabaseCollector(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterable[Metric]:
        with session_scope(self.factory, write=False) as session:
            found: list[Metric] = []
            for part in (_jobs, _durations, _schedules, _requests, _breaches, _retention):
                found.extend(part(session))
        return found


def metrics_registry(factory: sessionmaker[Session]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(factory))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
