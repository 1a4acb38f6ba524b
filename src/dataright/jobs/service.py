"""Jobs in the database: enqueue in the caller's transaction, claim with a lease, finish, fail, reap, schedule.

**Enqueue after commit.** ``enqueue`` writes the row with the caller's session and remembers its id on the
session; only when that transaction commits are the listeners (the in-process runner's wake-up, the
Dramatiq dispatcher) told. A transaction that rolls back leaves no row and tells nobody. A listener is only
a way to wake a worker quickly: a job whose wake-up was lost (the process died between commit and send, or
it was enqueued by the CLI, which has no runner) is found by the runners' polling ("outbox") tick.

**Claiming** is one atomic statement on the row: ``UPDATE … WHERE id = ? AND state IN ('queued', 'waiting')
AND run_after <= now``; when the runner looks for the next job itself it first picks one with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has a single writer: ``BEGIN IMMEDIATE`` already
serialises the pick and the update). The claim counts the attempt and sets a lease; only the lease owner can
finish or fail the job, and a job whose lease ran out is put back (``reap``) for another worker.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.errors import Conflict, NotFound, ValidationFailed
from dataright.jobs import registry
from dataright.jobs.models import ACTIVE, CLAIMABLE, Job, JobSchedule, JobState
from dataright.storage.types import utcnow

logger = logging.getLogger("dataright.jobs")
PENDING_KEY = "dataright_jobs_enqueued"
MAX_ARG_TEXT = 200
Listener = Callable[[str, list[uuid.UUID]], None]
"""Called after a commit with (the database URL, with any password hidden; the ids of the jobs enqueued)."""
_listeners: list[Listener] = []


# ------------------------------------------------------------------------------------------------
# enqueue, and the after-commit hand-over
# ------------------------------------------------------------------------------------------------
def _check_args(args: dict[str, Any], kind: str) -> None:
    """Ids, counts and flags only: scalars (or lists of scalars) under short keys, texts of at most 200 chars."""

    def scalar(value: Any, where: str) -> None:
        if value is None or isinstance(value, bool | int):
            return
        if isinstance(value, float) and math.isfinite(value):
            return
        if isinstance(value, str) and len(value) <= MAX_ARG_TEXT:
            return
        raise ValidationFailed(
            f"job {kind}: args{where}: expected an id, a number or a flag, not {type(value).__name__}"
        )

    for key, value in args.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValidationFailed(f"job {kind}: args key {key!r}: expected an identifier")
        if isinstance(value, list):
            for i, item in enumerate(value):
                scalar(item, f".{key}[{i}]")
        else:
            scalar(value, f".{key}")


def enqueue(
    session: Session,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    actor: str = "system",
) -> uuid.UUID:
    """Write a job in the caller's transaction; its id. With ``dedupe_key``, a live job (queued, running or
    waiting) with the same key is returned instead of a second one (the database's unique index decides)."""
    spec = registry.kind(kind)
    args = dict(args or {})
    _check_args(args, kind)
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        args=args,
        state=JobState.queued.value,
        attempts=0,
        max_attempts=spec.max_attempts,
        dedupe_key=dedupe_key,
        active_key=dedupe_key,
        run_after=run_after or utcnow(),
        created_by=actor,
    )
    if dedupe_key is not None:
        existing = _active_with_key(session, dedupe_key)
        if existing is not None:
            return existing
        try:
            with session.begin_nested():
                session.add(job)
        except sa_exc.IntegrityError:
            found = _active_with_key(session, dedupe_key)
            if found is None:
                raise
            return found
    else:
        session.add(job)
        session.flush()
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job.id


def _active_with_key(session: Session, key: str) -> uuid.UUID | None:
    return session.scalar(select(Job.id).where(Job.active_key == key))


def add_listener(listener: Listener) -> None:
    """Be told, after each commit that enqueued jobs, which ones (in this process)."""
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def database_key(session_or_url: Session | str) -> str:
    if isinstance(session_or_url, str):
        from sqlalchemy.engine import make_url

        from dataright.storage.engine import normalise_url

        return make_url(normalise_url(session_or_url)).render_as_string(hide_password=True)
    bind = session_or_url.get_bind()
    return bind.engine.url.render_as_string(hide_password=True)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids: list[uuid.UUID] = session.info.pop(PENDING_KEY, [])
    if not ids or not _listeners:
        return
    try:
        key = database_key(session)
    except sa_exc.SQLAlchemyError:
        return
    for listener in list(_listeners):
        try:
            listener(key, list(ids))
        except Exception:  # a lost wake-up is caught up by the polling tick; never fail the caller's commit
            logger.exception("a job listener failed; the jobs are picked up by the next poll")


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


# ------------------------------------------------------------------------------------------------
# claim, renew, finish, fail, reap
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: str
    args: dict[str, Any]
    attempt: int
    max_attempts: int
    owner: str


def _rowcount(result: Any) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def _pick(session: Session, *, now: datetime, kinds: Sequence[str]) -> uuid.UUID | None:
    query = (
        select(Job.id)
        .where(Job.state.in_(CLAIMABLE), Job.run_after <= now, Job.kind.in_(list(kinds)))
        .order_by(Job.run_after)
        .limit(1)
    )
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def claim(
    session: Session,
    *,
    owner: str,
    now: datetime,
    job_id: uuid.UUID | None = None,
    kinds: Sequence[str] | None = None,
) -> Claimed | None:
    """Take ``job_id`` (or the next due job of ``kinds``) with a lease: the job, or None when it is not due,
    taken already, finished or cancelled."""
    if job_id is None:
        job_id = _pick(session, now=now, kinds=kinds if kinds is not None else registry.known())
        if job_id is None:
            return None
    row = session.execute(select(Job.kind, Job.max_attempts).where(Job.id == job_id)).first()
    if row is None:
        return None
    try:
        lease = registry.kind(row.kind).lease_seconds
    except NotFound:
        return None  # a kind this process does not know: leave it for a worker that does
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_(CLAIMABLE), Job.run_after <= now)
        .values(
            state=JobState.running.value,
            attempts=Job.attempts + 1,
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease),
            started_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    job = session.execute(select(Job.kind, Job.args, Job.attempts, Job.max_attempts).where(Job.id == job_id)).one()
    return Claimed(job_id, job.kind, dict(job.args or {}), job.attempts, job.max_attempts, owner)


def _held(job_id: uuid.UUID, owner: str) -> Any:
    return and_(Job.id == job_id, Job.state == JobState.running.value, Job.lease_owner == owner)


def renew(session: Session, *, job_id: uuid.UUID, owner: str, now: datetime, lease_seconds: float) -> bool:
    """Extend the lease of a running job; False when it is no longer ours."""
    result = session.execute(
        update(Job)
        .where(_held(job_id, owner))
        .values(lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def finish(
    session: Session,
    *,
    job_id: uuid.UUID,
    owner: str,
    now: datetime,
    result: dict[str, Any] | None,
    duration_ms: int,
) -> bool:
    """Mark the job succeeded; False (nothing changed) when the lease is no longer ours."""
    done = session.execute(
        update(Job)
        .where(_held(job_id, owner))
        .values(
            state=JobState.succeeded.value,
            active_key=None,
            lease_owner=None,
            lease_until=None,
            result=result,
            last_error=None,
            finished_at=now,
            duration_ms=duration_ms,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(done) == 1


def backoff_delay(attempt: int, *, base: float, ceiling: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …): ``base``, doubled each time, capped."""
    return float(min(ceiling, base * 2 ** max(0, attempt - 1)))


def fail(
    session: Session,
    *,
    job_id: uuid.UUID,
    owner: str,
    now: datetime,
    error: str,
    permanent: bool,
    duration_ms: int,
) -> JobState | None:
    """Record a failed attempt: ``waiting`` (back-off) or ``failed`` (no attempts left, or ``permanent``);
    None when the lease is no longer ours."""
    job = session.execute(select(Job.kind, Job.attempts, Job.max_attempts).where(_held(job_id, owner))).first()
    if job is None:
        return None
    try:
        spec = registry.kind(job.kind)
        base, ceiling = spec.backoff_seconds, spec.backoff_max_seconds
    except NotFound:
        base, ceiling = 30.0, 3600.0
    final = permanent or job.attempts >= job.max_attempts
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_until": None,
        "last_error": error[:300],
        "duration_ms": duration_ms,
        "updated_at": now,
    }
    if final:
        values |= {"state": JobState.failed.value, "active_key": None, "finished_at": now}
    else:
        delay = backoff_delay(job.attempts, base=base, ceiling=ceiling)
        values |= {"state": JobState.waiting.value, "run_after": now + timedelta(seconds=delay)}
        values["dispatched_at"] = None
    session.execute(
        update(Job).where(_held(job_id, owner)).values(**values).execution_options(synchronize_session=False)
    )
    if final:
        audit(
            session,
            actor="jobs",
            action="job.failed",
            entity_type="job",
            entity_id=job_id,
            details={"kind": job.kind, "attempts": job.attempts, "error": error.partition(":")[0]},
        )
    return JobState.failed if final else JobState.waiting


def reap(session: Session, *, now: datetime) -> int:
    """Put back jobs whose worker stopped renewing its lease (it died): ``queued`` again for another worker, or
    ``failed`` when that was its last attempt. The number put back or failed."""
    lapsed = Job.state == JobState.running.value, Job.lease_until < now
    failed = session.execute(
        update(Job)
        .where(*lapsed, Job.attempts >= Job.max_attempts)
        .values(
            state=JobState.failed.value,
            active_key=None,
            lease_owner=None,
            lease_until=None,
            last_error="LeaseExpired: the worker stopped during the last attempt",
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    requeued = session.execute(
        update(Job)
        .where(*lapsed)
        .values(
            state=JobState.queued.value,
            lease_owner=None,
            lease_until=None,
            last_error="LeaseExpired: the worker stopped; queued again",
            dispatched_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(failed) + _rowcount(requeued)


def take_for_dispatch(session: Session, *, now: datetime, again_after: float, limit: int = 500) -> list[uuid.UUID]:
    """Due jobs not sent to the broker yet (or sent more than ``again_after`` seconds ago and still not taken),
    marked as sent now: the distributed runner's outbox."""
    ids = list(
        session.scalars(
            select(Job.id)
            .where(
                Job.state.in_(CLAIMABLE),
                Job.run_after <= now,
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < now - timedelta(seconds=again_after)),
            )
            .order_by(Job.run_after)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(Job).where(Job.id.in_(ids)).values(dispatched_at=now).execution_options(synchronize_session=False)
        )
    return ids


def next_due_in(session: Session, *, now: datetime, kinds: Sequence[str]) -> float | None:
    """Seconds until the next waiting job of ``kinds`` is due (0 when one is due now), None when there is none."""
    soonest = session.scalar(select(func.min(Job.run_after)).where(Job.state.in_(CLAIMABLE), Job.kind.in_(list(kinds))))
    if soonest is None:
        return None
    return max(0.0, (soonest - now).total_seconds())


# ------------------------------------------------------------------------------------------------
# operations: list, find, cancel, retry, counts
# ------------------------------------------------------------------------------------------------
def find(session: Session, ref: str) -> Job:
    """A job by its id or a unique prefix of at least 6 characters of it."""
    text = ref.strip().lower().replace("-", "")
    if len(text) < 6 or any(c not in "0123456789abcdef" for c in text):
        raise ValidationFailed(f"job id {ref!r}: expected a job id (at least its first 6 hex digits)")
    if len(text) == 32:
        job = session.get(Job, uuid.UUID(text))
        if job is None:
            raise NotFound(f"no job {ref}")
        return job
    matches = [j for j in session.scalars(select(Job).order_by(Job.created_at.desc())) if j.id.hex.startswith(text)][:2]
    if not matches:
        raise NotFound(f"no job {ref}")
    if len(matches) > 1:
        raise ValidationFailed(f"job id {ref!r} is ambiguous; give more of it")
    return matches[0]


def list_jobs(session: Session, *, state: str | None = None, kind: str | None = None, limit: int = 50) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if state is not None:
        if state not in {s.value for s in JobState}:
            raise ValidationFailed(f"state {state!r}: expected one of {', '.join(s.value for s in JobState)}")
        query = query.where(Job.state == state)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def cancel(session: Session, job: Job, *, actor: str, now: datetime | None = None) -> Job:
    """Cancel a queued or waiting job (a running one is not interrupted: wait for it, or let it fail)."""
    if JobState(job.state) not in (JobState.queued, JobState.waiting):
        raise Conflict(f"job {job.id} is {job.state}; only a queued or waiting job can be cancelled")
    moment = now or utcnow()
    job.state, job.active_key, job.finished_at, job.updated_at = JobState.cancelled.value, None, moment, moment
    session.flush()
    audit(session, actor=actor, action="job.cancelled", entity_type="job", entity_id=job.id, details={"kind": job.kind})
    return job


def retry(session: Session, job: Job, *, actor: str, now: datetime | None = None) -> Job:
    """Queue a failed or cancelled job again now (with a fresh set of attempts), or a waiting one at once."""
    state = JobState(job.state)
    if state in (JobState.queued, JobState.running, JobState.succeeded):
        raise Conflict(f"job {job.id} is {job.state}; only a failed, cancelled or waiting job can be retried")
    moment = now or utcnow()
    if job.dedupe_key is not None and state not in ACTIVE:
        other = _active_with_key(session, job.dedupe_key)
        if other is not None:
            raise Conflict(f"job {job.id}: job {other} for the same thing is already live")
    job.state, job.run_after, job.dispatched_at, job.updated_at = JobState.queued.value, moment, None, moment
    job.active_key, job.finished_at = job.dedupe_key, None
    if state is not JobState.waiting:
        job.max_attempts = (
            job.attempts + registry.kind(job.kind).max_attempts if job.kind in registry.known() else job.attempts + 1
        )
    session.flush()
    audit(session, actor=actor, action="job.retried", entity_type="job", entity_id=job.id, details={"kind": job.kind})
    session.info.setdefault(PENDING_KEY, []).append(job.id)
    return job


def counts_by_state(session: Session) -> dict[tuple[str, str], int]:
    """(kind, state) -> number of jobs."""
    rows = session.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state))
    return {(kind, state): int(n) for kind, state, n in rows}


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A job of ``kind`` every ``every`` seconds, fired by whichever worker moves the schedule's row first."""

    name: str
    kind: str
    every: int
    args: dict[str, Any] | None = None


def ensure_schedules(session: Session, schedules: Iterable[Schedule], *, now: datetime) -> None:
    """Create the rows of schedules new to this database (first run due now); keep the interval current."""
    wanted = {s.name: s for s in schedules}
    existing = {row.name: row for row in session.scalars(select(JobSchedule).where(JobSchedule.name.in_(wanted)))}
    for name, schedule in wanted.items():
        row = existing.get(name)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        JobSchedule(name=name, kind=schedule.kind, interval_seconds=schedule.every, next_run_at=now)
                    )
            except sa_exc.IntegrityError:
                continue  # another worker created it a moment ago
        elif row.interval_seconds != schedule.every or row.kind != schedule.kind:
            row.interval_seconds, row.kind = schedule.every, schedule.kind
    session.flush()


def fire_if_due(session: Session, schedule: Schedule, *, owner: str, now: datetime) -> uuid.UUID | None:
    """Fire ``schedule`` when it is due and no other worker fired it first: the job enqueued, else None.

    One atomic UPDATE moves ``next_run_at`` on only when it is still in the past; of several workers trying at
    once exactly one changes the row (PostgreSQL re-checks the condition after waiting for the row lock;
    SQLite has one writer at a time) and that one enqueues the job, in the same transaction.
    """
    result = session.execute(
        update(JobSchedule)
        .where(JobSchedule.name == schedule.name, JobSchedule.next_run_at <= now)
        .values(
            next_run_at=now + timedelta(seconds=schedule.every),
            last_fired_at=now,
            last_fired_by=owner,
            fired=JobSchedule.fired + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    job_id = enqueue(
        session, schedule.kind, schedule.args, dedupe_key=f"schedule:{schedule.name}", actor=f"schedule:{schedule.name}"
    )
    session.execute(
        update(JobSchedule)
        .where(JobSchedule.name == schedule.name)
        .values(last_job_id=job_id)
        .execution_options(synchronize_session=False)
    )
    return job_id
