"""The two runners. Both run the same ``runtime.execute`` on the same rows; they differ in how work arrives.

* ``InProcessRunner``: threads inside the server (``dataright serve``, ``jobs_runner = "inprocess"``, the
  default). A commit that enqueued jobs wakes them; otherwise they look every ``jobs_poll_seconds``.
* ``DramatiqRunner``: ``dataright worker`` processes on any number of machines. The broker message carries
  only the job's id; the worker claims the row and runs it. With ``work=False`` it only sends (what
  ``dataright serve`` does when ``jobs_runner = "dramatiq"``).

Every runner that works also keeps house every ``jobs_poll_seconds``: it queues again the jobs of workers
that died (their lease ran out), fires the schedules that are due (a database lease decides which of many
workers fires each one) and, for Dramatiq, sends the ids of due jobs nobody sent yet (the outbox).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from dataright.config import Settings
from dataright.jobs import registry, service
from dataright.jobs.runtime import JobEnvironment, execute, new_owner, tick
from dataright.jobs.service import Schedule
from dataright.storage.engine import session_scope

logger = logging.getLogger("dataright.jobs")
ACTOR_NAME = "dataright_run_job"
REDISPATCH_SECONDS = 60.0
"""A due job whose id was sent this long ago and that nobody took is sent again (its message was lost)."""


class _Housekeeper:
    def __init__(
        self,
        env: JobEnvironment,
        owner: str,
        schedules: Sequence[Schedule],
        every: float,
        after_turn: Callable[[list[uuid.UUID]], object],
    ) -> None:
        self.env, self.owner, self.schedules, self.every = env, owner, list(schedules), every
        self.after_turn = after_turn
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jobs-housekeeping", daemon=True)

    def turn(self) -> list[uuid.UUID]:
        return tick(self.env, owner=self.owner, schedules=self.schedules)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.after_turn(self.turn())
            except Exception:
                logger.exception("jobs housekeeping failed; trying again in %.0f s", self.every)
            self.stopping.wait(self.every)


class InProcessRunner:
    """Worker threads in this process; ``start()`` / ``stop()``, or ``run_until_idle()`` in the caller's thread."""

    def __init__(
        self,
        env: JobEnvironment,
        *,
        threads: int = 1,
        poll_seconds: float = 5.0,
        schedules: Sequence[Schedule] = (),
        owner: str | None = None,
    ) -> None:
        self.env, self.threads, self.poll_seconds = env, threads, poll_seconds
        self.owner = owner or new_owner("inprocess")
        self.schedules = list(schedules)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._housekeeper: _Housekeeper | None = None
        self._key = service.database_key(str(env.factory.kw["bind"].url.render_as_string(hide_password=False)))

    def _woken(self, key: str, ids: list[uuid.UUID]) -> None:
        if key == self._key:
            self._wake.set()

    def _fired(self, fired: list[uuid.UUID]) -> None:
        if fired:
            self._wake.set()

    def start(self) -> None:
        service.add_listener(self._woken)
        self._stopping.clear()
        self._housekeeper = _Housekeeper(self.env, self.owner, self.schedules, self.poll_seconds, self._fired)
        self._housekeeper.thread.start()
        for n in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"jobs-worker-{n}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs and wait up to ``timeout`` seconds for the running ones (a job still running after
        that is left to its lease: another worker takes it over when the lease runs out)."""
        service.remove_listener(self._woken)
        self._stopping.set()
        self._wake.set()
        if self._housekeeper is not None:
            self._housekeeper.stopping.set()
            self._housekeeper.thread.join(timeout)
        deadline = time.monotonic() + timeout
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._workers.clear()

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                outcome = execute(self.env, owner=self.owner, kinds=registry.known())
            except Exception:
                logger.exception("the job runner failed to take a job; trying again shortly")
                outcome = None
                self._stopping.wait(self.poll_seconds)
            if outcome is None:
                self._wake.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        try:
            with session_scope(self.env.factory, write=False) as session:
                due = service.next_due_in(session, now=self.env.clock(), kinds=registry.known())
        except Exception:
            return self.poll_seconds
        return self.poll_seconds if due is None else min(self.poll_seconds, max(0.05, due))

    def run_until_idle(self, *, housekeeping: bool = True, limit: int = 1000) -> int:
        """Run due jobs in this thread until none is due (and fire due schedules first); how many ran."""
        ran = 0
        if housekeeping:
            tick(self.env, owner=self.owner, schedules=self.schedules)
        while ran < limit and execute(self.env, owner=self.owner, kinds=registry.known()) is not None:
            ran += 1
        return ran


def make_broker(url: str, namespace: str) -> Any:
    """A Dramatiq broker on Redis with no middleware of its own: retries, time limits and back-off are the
    job table's business, so a message is delivered, acknowledged, and that is all."""
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(url=url, namespace=namespace, middleware=[], heartbeat_timeout=15_000)  # type: ignore[no-untyped-call]


class DramatiqRunner:
    """Dramatiq on Redis: ``start()`` a worker (``work=True``) or only send job ids after commit (``False``)."""

    def __init__(
        self,
        env: JobEnvironment,
        *,
        broker_url: str,
        namespace: str,
        queue: str,
        threads: int = 2,
        poll_seconds: float = 5.0,
        schedules: Sequence[Schedule] = (),
        work: bool = True,
        owner: str | None = None,
    ) -> None:
        import dramatiq

        self.env, self.queue, self.threads, self.poll_seconds, self.work = env, queue, threads, poll_seconds, work
        self.owner = owner or new_owner("dramatiq")
        self.schedules = list(schedules)
        self.broker = make_broker(broker_url, namespace)
        decorate = dramatiq.actor(actor_name=ACTOR_NAME, queue_name=queue, broker=self.broker)
        self.actor: Any = decorate(self._perform)
        self._worker: Any = None
        self._housekeeper: _Housekeeper | None = None
        self._key = service.database_key(str(env.factory.kw["bind"].url.render_as_string(hide_password=False)))

    def _perform(self, job_id: str) -> None:
        execute(self.env, owner=self.owner, job_id=uuid.UUID(job_id))

    def send(self, ids: Sequence[uuid.UUID]) -> None:
        for job_id in ids:
            self.actor.send(str(job_id))

    def _after_commit(self, key: str, ids: list[uuid.UUID]) -> None:
        if key == self._key:
            self.send(ids)

    def dispatch_due(self) -> int:
        """Send the ids of due jobs that were never sent (or whose message was lost); how many."""
        with session_scope(self.env.factory) as session:
            ids = service.take_for_dispatch(session, now=self.env.clock(), again_after=REDISPATCH_SECONDS)
        self.send(ids)
        return len(ids)

    def start(self) -> None:
        import dramatiq

        service.add_listener(self._after_commit)
        if not self.work:
            return
        self._worker = dramatiq.Worker(self.broker, queues={self.queue}, worker_threads=self.threads)
        self._worker.start()
        housekeeper = _Housekeeper(
            self.env, self.owner, self.schedules, self.poll_seconds, lambda _fired: self.dispatch_due()
        )
        housekeeper.thread.start()
        self._housekeeper = housekeeper

    def stop(self, timeout: float = 30.0) -> None:
        service.remove_listener(self._after_commit)
        if self._housekeeper is not None:
            self._housekeeper.stopping.set()
            self._housekeeper.thread.join(timeout)
        if self._worker is not None:
            self._worker.stop(timeout=int(timeout * 1000))
            self._worker = None
        self.broker.close()


Runner = InProcessRunner | DramatiqRunner


def runner_for(settings: Settings, env: JobEnvironment, *, in_server: bool) -> Runner | None:
    """The runner ``settings`` ask for: in a server, the in-process one works and Dramatiq only sends; a
    ``dataright worker`` works through Dramatiq (``in_server=False``)."""
    from dataright.jobs.tasks import default_schedules

    schedules = default_schedules(settings)
    if settings.jobs_runner == "off":
        return None
    if settings.jobs_runner == "inprocess" and in_server:
        return InProcessRunner(
            env, threads=settings.jobs_threads, poll_seconds=settings.jobs_poll_seconds, schedules=schedules
        )
    return DramatiqRunner(
        env,
        broker_url=settings.jobs_broker_url,
        namespace=settings.jobs_namespace,
        queue=settings.jobs_queue,
        threads=settings.jobs_threads,
        poll_seconds=settings.jobs_poll_seconds,
        schedules=schedules,
        work=not in_server,
    )
