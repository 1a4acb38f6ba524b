"""A ``dataright worker`` killed (SIGKILL) in the middle of a job: another worker finishes it, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dataright.jobs import service
from dataright.jobs.models import Job
from dataright.storage.engine import session_scope
from fixtures import jobkinds
from fixtures.db import TEST_SECRET

from .conftest import REDIS_URL, drop_namespace, eventually, redis_or_skip

TESTS = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-c", "from dataright.cli.main import app; app()", "worker", "--import", "fixtures.jobkinds"]


def _environment(url: str, namespace: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATARIGHT_")}
    env.update(
        DATARIGHT_DATABASE_URL=url,
        DATARIGHT_SECRET_KEY=TEST_SECRET,
        DATARIGHT_JOBS_BROKER_URL=REDIS_URL,
        DATARIGHT_JOBS_NAMESPACE=namespace,
        DATARIGHT_JOBS_QUEUE=namespace,
        DATARIGHT_JOBS_POLL_SECONDS="0.3",
        DATARIGHT_JOBS_SCHEDULES="false",
        PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]),
    )
    return env


def _pid_of(owner: str) -> int:
    """Lease owners read ``dramatiq:<host>:<pid>:<random>``."""
    return int(owner.split(":")[2])


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_it_to_another_worker_which_completes_it_exactly_once(
    factory: sessionmaker[Session], jobs_url: str, tmp_path: Path
) -> None:
    redis_or_skip()
    namespace = f"dataright-test-{uuid.uuid4().hex[:10]}"
    env = _environment(jobs_url, namespace)
    logs = [(tmp_path / f"worker-{n}.log").open("wb") for n in range(2)]
    workers = [subprocess.Popen(COMMAND, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    tag = uuid.uuid4().hex
    try:
        with session_scope(factory) as session:  # enqueued by this process: the workers' outbox tick sends it
            job_id = service.enqueue(session, "test.slow", {"tag": tag, "seconds": 4})
        eventually(lambda: jobkinds.count(factory, tag, "started") == 1, what="a worker starting the job")
        first = jobkinds.owners(factory, tag, "started")[0]
        victim = next(w for w in workers if w.pid == _pid_of(first))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL

        def finished() -> bool:
            with session_scope(factory, write=False) as session:
                job = session.get(Job, job_id)
                return job is not None and job.state == "succeeded"

        eventually(finished, timeout=90, what="the job's completion by the other worker")
        starts = jobkinds.owners(factory, tag, "started")
        done = jobkinds.owners(factory, tag, "done")
        assert len(done) == 1, "the job's effect happened more than once"
        assert done[0] != first and _pid_of(done[0]) != victim.pid
        assert len(starts) == 2 and starts[0] == first
        with session_scope(factory, write=False) as session:
            job = session.get(Job, job_id)
            assert job is not None and job.attempts == 2
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=30)
        for log in logs:
            log.close()
        drop_namespace(namespace)
