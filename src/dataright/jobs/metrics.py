"""Prometheus metrics, read from the database at each scrape.

Every figure comes from the tables, not from counters in this process: a server and any number of
``dataright worker`` processes share one database, so whichever server is scraped answers for all of them,
and a restart loses nothing. Counts only, never personal data.

* ``dataright_jobs{kind,state}``: jobs by kind and state (queue depth: ``queued``, ``waiting``, ``running``).
* ``dataright_job_duration_seconds{kind}``: a histogram of the last attempt of finished jobs.
* ``dataright_job_failed_attempts_total{kind}``: attempts that failed or whose worker died.
* ``dataright_requests_overdue{controller}``: open rights requests past their binding deadline.
* ``dataright_schedule_fired_total{schedule}``: how often each schedule fired.
* ``dataright_retention_rows_total{rule,action}``: rows each retention rule deleted, anonymised or
  pseudonymised (when the retention sweeps are installed; see ``RETENTION_SOURCE``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from dataright.jobs.models import Job, JobSchedule, JobState
from dataright.requests import service as requests
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow

BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
FINISHED = (JobState.succeeded.value, JobState.failed.value)
RETENTION_SOURCE = ("dataright.retention.service", "rows_acted_on")
"""(module, function) giving ``{(rule, action): rows}`` over every recorded sweep, when that module exists."""


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


def _retention(session: Session) -> Iterator[Metric]:
    module, name = RETENTION_SOURCE
    try:
        source: Callable[[Session], dict[tuple[str, str], int]] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return
    rows = CounterMetricFamily(
        "dataright_retention_rows", "Rows retention rules acted on, by rule and action.", labels=["rule", "action"]
    )
    for (rule, action), n in sorted(source(session).items()):
        rows.add_metric([rule, action], float(n))
    yield rows


class DatabaseCollector(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterable[Metric]:
        with session_scope(self.factory, write=False) as session:
            found: list[Metric] = []
            for part in (_jobs, _durations, _schedules, _requests, _retention):
                found.extend(part(session))
        return found


def metrics_registry(factory: sessionmaker[Session]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(factory))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
