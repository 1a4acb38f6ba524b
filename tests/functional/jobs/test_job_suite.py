"""One suite, two runners: every test here runs against the in-process runner and against Dramatiq on Redis,
on SQLite and on PostgreSQL. Jobs are enqueued in committed transactions, exactly as the services do."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dataright.jobs import service
from dataright.jobs.models import Job, JobState
from dataright.jobs.runtime import JobEnvironment
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow
from fixtures import jobkinds

from .conftest import Harness, eventually


def _tag() -> str:
    return uuid.uuid4().hex


def _enqueue(factory: sessionmaker[Session], kind: str, **args: object) -> uuid.UUID:
    with session_scope(factory) as session:
        return service.enqueue(session, kind, dict(args))


def _job(factory: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _state(factory: sessionmaker[Session], job_id: uuid.UUID) -> str:
    return _job(factory, job_id).state


def test_a_job_enqueued_in_a_committed_transaction_runs_once(runner: Harness, factory: sessionmaker[Session]) -> None:
    tag = _tag()
    job_id = _enqueue(factory, "test.effect", tag=tag)
    eventually(lambda: _state(factory, job_id) == "succeeded", what="the job's success")
    job = _job(factory, job_id)
    assert jobkinds.count(factory, tag) == 1
    assert job.attempts == 1 and job.lease_owner is None and job.active_key is None
    assert job.duration_ms is not None and job.finished_at is not None


def test_a_rolled_back_transaction_enqueues_nothing(runner: Harness, factory: sessionmaker[Session]) -> None:
    lost, kept = _tag(), _tag()
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        doomed = service.enqueue(session, "test.effect", {"tag": lost})
        raise RuntimeError("the change that asked for the job failed")
    after = _enqueue(factory, "test.effect", tag=kept)
    eventually(lambda: _state(factory, after) == "succeeded", what="the later job's success")
    with session_scope(factory, write=False) as session:
        assert session.get(Job, doomed) is None
    assert jobkinds.count(factory, lost, "done") == 0 and jobkinds.count(factory, kept) == 1


def test_a_failing_job_is_retried_with_back_off_until_it_succeeds(
    runner: Harness, factory: sessionmaker[Session]
) -> None:
    tag = _tag()
    job_id = _enqueue(factory, "test.flaky", tag=tag, fail_times=2)
    eventually(lambda: _state(factory, job_id) == "succeeded", what="the third attempt's success")
    job = _job(factory, job_id)
    assert job.attempts == 3 and job.last_error is None
    assert jobkinds.count(factory, tag, "started") == 3 and jobkinds.count(factory, tag) == 1


def test_a_job_that_keeps_failing_ends_failed_with_only_its_error_class_kept(
    runner: Harness, factory: sessionmaker[Session]
) -> None:
    tag = _tag()
    job_id = _enqueue(factory, "test.broken", tag=tag)
    eventually(lambda: _state(factory, job_id) == "failed", what="the job's failure")
    job = _job(factory, job_id)
    assert job.attempts == 2 == job.max_attempts
    assert job.last_error == "RuntimeError"  # the message ("always") may quote data: never stored
    assert job.active_key is None and job.finished_at is not None


def test_a_job_delivered_again_after_it_ran_does_nothing_more(
    runner: Harness, factory: sessionmaker[Session], env: JobEnvironment
) -> None:
    tag, marker = _tag(), _tag()
    job_id = _enqueue(factory, "test.effect", tag=tag)
    eventually(lambda: _state(factory, job_id) == "succeeded", what="the job's success")
    runner.redeliver(job_id, env)
    runner.redeliver(job_id, env)
    later = _enqueue(factory, "test.effect", tag=marker)  # runs after the duplicates were handled
    eventually(lambda: _state(factory, later) == "succeeded", what="the later job's success")
    assert jobkinds.count(factory, tag) == 1
    assert _job(factory, job_id).attempts == 1


def test_a_cancelled_job_does_not_run_and_a_retried_one_does(runner: Harness, factory: sessionmaker[Session]) -> None:
    tag = _tag()
    with session_scope(factory) as session:
        job_id = service.enqueue(session, "test.effect", {"tag": tag}, run_after=utcnow() + timedelta(hours=1))
    with session_scope(factory) as session:
        service.cancel(session, service.find(session, str(job_id)), actor="test")
    assert _state(factory, job_id) == "cancelled"
    with session_scope(factory) as session:
        service.retry(session, service.find(session, job_id.hex[:12]), actor="test")
    eventually(lambda: _state(factory, job_id) == "succeeded", what="the retried job's success")
    assert jobkinds.count(factory, tag) == 1


def test_a_live_job_with_the_same_dedupe_key_is_not_enqueued_twice(
    runner: Harness, factory: sessionmaker[Session]
) -> None:
    key = f"test:{_tag()}"
    tag = _tag()
    with session_scope(factory) as session:
        first = service.enqueue(
            session, "test.effect", {"tag": tag}, dedupe_key=key, run_after=utcnow() + timedelta(hours=1)
        )
        second = service.enqueue(session, "test.effect", {"tag": tag}, dedupe_key=key)
    assert first == second
    with session_scope(factory) as session:
        third = service.enqueue(session, "test.effect", {"tag": tag}, dedupe_key=key)
        assert third == first
        assert session.scalar(select(func.count()).select_from(Job).where(Job.dedupe_key == key)) == 1
        service.cancel(session, service.find(session, str(first)), actor="test")
    fresh = _enqueue_keyed(factory, tag, key)
    assert fresh != first
    eventually(lambda: _state(factory, fresh) == JobState.succeeded.value, what="the new job's success")


def _enqueue_keyed(factory: sessionmaker[Session], tag: str, key: str) -> uuid.UUID:
    with session_scope(factory) as session:
        return service.enqueue(session, "test.effect", {"tag": tag}, dedupe_key=key)
