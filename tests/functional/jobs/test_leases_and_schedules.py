"""Leases and schedules on the database alone: a dead worker's job goes back to the queue, the dead worker
cannot record a result afterwards, and a schedule fires once however many workers try at the same moment."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dataright.jobs import service
from dataright.jobs.models import Job, JobSchedule
from dataright.jobs.runtime import JobEnvironment, tick
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow


def _enqueue(factory: sessionmaker[Session], tag: str) -> uuid.UUID:
    with session_scope(factory) as session:
        return service.enqueue(session, "test.slow", {"tag": tag, "seconds": 0})


def test_a_job_whose_lease_ran_out_is_queued_again_and_its_first_worker_cannot_finish_it(
    factory: sessionmaker[Session],
) -> None:
    job_id = _enqueue(factory, uuid.uuid4().hex)
    now = utcnow()
    with session_scope(factory) as session:
        first = service.claim(session, owner="worker-a", now=now, job_id=job_id)
    assert first is not None and first.attempt == 1
    with session_scope(factory) as session:  # worker-a dies: nobody renews; 2 s (test.slow's lease) pass
        assert service.reap(session, now=now + timedelta(seconds=1)) == 0
        assert service.reap(session, now=now + timedelta(seconds=3)) >= 1
        job = session.get(Job, job_id)
        assert job is not None and job.state == "queued" and job.lease_owner is None
        assert job.last_error is not None and job.last_error.startswith("LeaseExpired")
    later = now + timedelta(seconds=3)
    with session_scope(factory) as session:
        second = service.claim(session, owner="worker-b", now=later, job_id=job_id)
    assert second is not None and second.attempt == 2
    with session_scope(factory) as session:
        assert not service.finish(session, job_id=job_id, owner="worker-a", now=later, result=None, duration_ms=1)
        assert not service.renew(session, job_id=job_id, owner="worker-a", now=later, lease_seconds=2)
        assert service.finish(session, job_id=job_id, owner="worker-b", now=later, result={"n": 1}, duration_ms=1)
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == "succeeded" and job.result == {"n": 1}


def test_a_job_on_its_last_attempt_whose_worker_died_ends_failed(factory: sessionmaker[Session]) -> None:
    job_id = _enqueue(factory, uuid.uuid4().hex)
    now = utcnow()
    for n in range(3):  # test.slow allows 3 attempts
        with session_scope(factory) as session:
            assert service.claim(session, owner=f"w{n}", now=now, job_id=job_id) is not None
            now += timedelta(seconds=3)
            service.reap(session, now=now)
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == "failed" and job.attempts == 3 and job.active_key is None


def test_a_claimed_job_is_not_claimed_again_by_another_worker(factory: sessionmaker[Session]) -> None:
    job_id = _enqueue(factory, uuid.uuid4().hex)
    now = utcnow()
    with session_scope(factory) as session:
        assert service.claim(session, owner="a", now=now, job_id=job_id) is not None
    with session_scope(factory) as session:
        assert service.claim(session, owner="b", now=now, job_id=job_id) is None


def test_a_schedule_fires_once_when_several_workers_try_at_the_same_moment(
    factory: sessionmaker[Session], env: JobEnvironment
) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    schedule = service.Schedule(name, "test.effect", 3600, {"tag": name})
    workers = 6
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait(timeout=30)
            for _ in range(5):
                tick(env, owner=f"worker-{n}", schedules=[schedule])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with session_scope(factory, write=False) as session:
        row = session.get(JobSchedule, name)
        assert row is not None and row.fired == 1
        fired = session.scalar(select(func.count()).select_from(Job).where(Job.created_by == f"schedule:{name}"))
        assert fired == 1
        assert row.next_run_at > utcnow() + timedelta(seconds=3000)


def test_a_schedule_fires_again_once_its_interval_has_passed(
    factory: sessionmaker[Session], env: JobEnvironment
) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    schedule = service.Schedule(name, "test.effect", 60, {"tag": name})
    now = utcnow()
    with session_scope(factory) as session:
        service.ensure_schedules(session, [schedule], now=now)
    fired = []
    for moment, worker in (
        (now, "a"),
        (now, "b"),
        (now + timedelta(seconds=59), "a"),
        (now + timedelta(seconds=61), "b"),
    ):
        with session_scope(factory) as session:
            job = service.fire_if_due(session, schedule, owner=worker, now=moment)
            if job is not None:
                # the first firing's job finishes before the next is due
                session.execute(Job.__table__.update().where(Job.id == job).values(state="succeeded", active_key=None))
                fired.append(worker)
    assert fired == ["a", "b"]
