"""Running one job: claim it, keep its lease alive, call its handler, record the outcome.

Both runners call ``execute``; they differ only in how they learn that a job is due (the in-process runner
polls the table and is woken after commit, a Dramatiq worker receives the job's id from the broker).

**A job run twice does no harm.** A second delivery of the same id finds the row running or finished and
does nothing (the claim is one atomic UPDATE). A job whose worker died mid-way is run again from the start by
another worker, so every handler is written to be repeated: it checks the state it acts on before acting
(the mail sender's row states, the engine's checkpoints, a request that is no longer in progress). A
handler whose whole effect is a database change makes it in ``ctx.transaction()``, which commits the effect
and the job's success together: killed before that commit, nothing happened; after it, the job is done.

**Errors.** A ``DataRightError`` that says the input is wrong (4xx: not found, conflict, invalid) fails the job
at once; anything else (a datastore that does not answer, a lost connection) is retried with exponential
back-off until the kind's ``max_attempts``. Only the error's class (and, for a datastore, which one) is kept:
a driver's message may quote a row.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings
from dataright.connectors.base import DatastoreUnavailable
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import ConfigurationError, DataRightError
from dataright.jobs import registry, service
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow

logger = logging.getLogger("dataright.jobs")
Clock = Callable[[], datetime]


class LeaseLost(Exception):
    """Another worker owns the job now (this one was presumed dead): its result is not recorded."""


@dataclass
class JobEnvironment:
    """What handlers get to work with: dataright's database, the settings and the loaded declarations."""

    factory: sessionmaker[Session]
    settings: Settings
    declarations: DeclarationRegistry
    clock: Clock = utcnow
    shared: dict[str, Any] = field(default_factory=dict)
    """Per-process state a kind may keep between jobs (open connectors, a mail transport)."""


@dataclass
class JobContext:
    job_id: uuid.UUID
    kind: str
    args: dict[str, Any]
    attempt: int
    max_attempts: int
    owner: str
    env: JobEnvironment
    result: dict[str, Any] = field(default_factory=dict)
    finished: bool = False
    started: float = field(default_factory=time.perf_counter)
    lost: threading.Event = field(default_factory=threading.Event)

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.env.factory

    @property
    def settings(self) -> Settings:
        return self.env.settings

    @property
    def declarations(self) -> DeclarationRegistry:
        return self.env.declarations

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction that also records the job's success (with ``self.result``) when it commits;
        raises ``LeaseLost`` (and rolls back) when the job is no longer this worker's."""
        with session_scope(self.env.factory) as session:
            yield session
            if not service.finish(
                session,
                job_id=self.job_id,
                owner=self.owner,
                now=self.env.clock(),
                result=self.result or None,
                duration_ms=self.elapsed_ms(),
            ):
                raise LeaseLost(str(self.job_id))
        self.finished = True


def error_text(exc: BaseException) -> str:
    """What is kept of an error: its class, for a datastore which one (never a driver's message), and for a
    misconfiguration what is missing (dataright's own words: a setting, a variable, a package to install),
    so whoever looks at a job that keeps waiting sees what to fix."""
    if isinstance(exc, DatastoreUnavailable):
        where = f"{exc.dataset}.{exc.table}" if exc.table else exc.dataset
        return f"DatastoreUnavailable: waiting on datastore {where}"
    if isinstance(exc, ConfigurationError):
        return f"ConfigurationError: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc.title}"[:300]
    return type(exc).__name__


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, DataRightError) and not isinstance(exc, DatastoreUnavailable) and 400 <= exc.status < 500


class _LeaseKeeper:
    """Renews the job's lease every third of its length while the handler runs."""

    def __init__(self, ctx: JobContext, lease_seconds: float) -> None:
        self.ctx, self.lease = ctx, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{ctx.job_id.hex[:8]}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                with session_scope(self.ctx.env.factory) as session:
                    ours = service.renew(
                        session,
                        job_id=self.ctx.job_id,
                        owner=self.ctx.owner,
                        now=self.ctx.env.clock(),
                        lease_seconds=self.lease,
                    )
            except Exception:
                logger.exception("renewing the lease of job %s failed; trying again", self.ctx.job_id)
                continue
            if not ours:
                self.ctx.lost.set()
                return


def execute(
    env: JobEnvironment, *, owner: str, job_id: uuid.UUID | None = None, kinds: list[str] | None = None
) -> str | None:
    """Claim ``job_id`` (or the next due job) and run it; the outcome (succeeded, waiting, failed, lost) or None
    when there was nothing to claim."""
    with session_scope(env.factory) as session:
        claimed = service.claim(session, owner=owner, now=env.clock(), job_id=job_id, kinds=kinds)
    if claimed is None:
        return None
    spec = registry.kind(claimed.kind)
    ctx = JobContext(claimed.id, claimed.kind, claimed.args, claimed.attempt, claimed.max_attempts, owner, env)
    logger.info("job %s (%s) attempt %d/%d started", claimed.id, claimed.kind, claimed.attempt, claimed.max_attempts)
    try:
        with _LeaseKeeper(ctx, spec.lease_seconds):
            returned = spec.handler(ctx)
            if returned:
                ctx.result.update(returned)
    except LeaseLost:
        logger.warning("job %s: another worker took it over; this run's result is dropped", claimed.id)
        return "lost"
    except Exception as exc:
        text = error_text(exc)
        with session_scope(env.factory) as session:
            state = service.fail(
                session,
                job_id=claimed.id,
                owner=owner,
                now=env.clock(),
                error=text,
                permanent=is_permanent(exc),
                duration_ms=ctx.elapsed_ms(),
            )
        logger.warning(
            "job %s (%s) attempt %d failed: %s -> %s", claimed.id, claimed.kind, claimed.attempt, text, state
        )
        return state.value if state is not None else "lost"
    if not ctx.finished:
        with session_scope(env.factory) as session:
            done = service.finish(
                session,
                job_id=claimed.id,
                owner=owner,
                now=env.clock(),
                result=ctx.result or None,
                duration_ms=ctx.elapsed_ms(),
            )
        if not done:
            logger.warning("job %s: another worker took it over; this run's result is dropped", claimed.id)
            return "lost"
    logger.info("job %s (%s) succeeded in %d ms", claimed.id, claimed.kind, ctx.elapsed_ms())
    return "succeeded"


def new_owner(prefix: str) -> str:
    """A worker's name in leases: where it runs and a random part (several per host are told apart)."""
    import os
    import socket

    return f"{prefix}:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def tick(env: JobEnvironment, *, owner: str, schedules: list[service.Schedule]) -> list[uuid.UUID]:
    """One turn of the housekeeping every runner does: put back jobs of dead workers, fire due schedules.
    The ids of the jobs it made runnable."""
    fired: list[uuid.UUID] = []
    now = env.clock()
    with session_scope(env.factory) as session:
        reaped = service.reap(session, now=now)
    if reaped:
        logger.info("%d job(s) of stopped workers queued again", reaped)
    if schedules:
        with session_scope(env.factory) as session:
            service.ensure_schedules(session, schedules, now=now)
        for schedule in schedules:
            with session_scope(env.factory) as session:
                job = service.fire_if_due(session, schedule, owner=owner, now=now)
            if job is not None:
                fired.append(job)
    return fired
