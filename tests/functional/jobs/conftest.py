"""The jobs tests' harness: the same tests run against the in-process runner and Dramatiq on the local Redis.

The jobs tests commit for real and add a table of their own (``job_test_effects``), so each test module gets
a database of its own (SQLite and PostgreSQL, migrated to head): ``jobs_url``, ``factory``, ``env``, and
``jobs_settings`` (installed for the process, so the CLI in the same process uses that database).

``runner`` is parametrised over both. The Dramatiq one gets a namespace and a queue of its own on Redis
(127.0.0.1:6379), deleted afterwards, so tests never see each other's messages. When Redis does not answer
its tests skip, unless ``DATARIGHT_REQUIRE_SERVICES=1``: then they fail.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings, use_settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.jobs.runners import DramatiqRunner, InProcessRunner
from dataright.jobs.runtime import JobEnvironment
from dataright.storage.engine import make_engine, make_session_factory
from dataright.storage.migrate import upgrade
from fixtures import jobkinds
from fixtures.db import TEST_SECRET, _new_url

REDIS_URL = "redis://127.0.0.1:6379/0"
RUNNERS = ("inprocess", "dramatiq")


def eventually(check: Callable[[], bool], *, timeout: float = 60.0, what: str = "the condition") -> None:
    """Wait until ``check()`` holds (a generous bound for a loaded machine; no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def redis_or_skip() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if Settings().require_services:
            pytest.fail("Redis does not answer on 127.0.0.1:6379 and DATARIGHT_REQUIRE_SERVICES=1")
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    finally:
        client.close()


def drop_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{namespace}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def jobs_url(db_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _new_url("sqlite" if db_url.startswith("sqlite") else "postgresql", request, tmp_path_factory)


@pytest.fixture(scope="module")
def jobs_engine(jobs_url: str) -> Iterator[Engine]:
    engine = make_engine(jobs_url, pool_size=4, max_overflow=4)
    upgrade(engine)
    jobkinds.create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def jobs_settings(jobs_url: str) -> Iterator[Settings]:
    installed = Settings(database_url=jobs_url, secret_key=TEST_SECRET, base_url="http://testserver")
    use_settings(installed)
    yield installed
    use_settings(None)


@pytest.fixture
def factory(jobs_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(jobs_engine)


@pytest.fixture
def env(factory: sessionmaker[Session], jobs_settings: Settings) -> JobEnvironment:
    return JobEnvironment(factory, jobs_settings, DeclarationRegistry([]))


@dataclass
class Harness:
    name: str
    runner: InProcessRunner | DramatiqRunner
    namespace: str = ""

    def redeliver(self, job_id: uuid.UUID, env: JobEnvironment) -> None:
        """Hand the same job to a worker once more (a duplicate message, a second wake-up)."""
        if isinstance(self.runner, DramatiqRunner):
            self.runner.send([job_id])
        else:
            from dataright.jobs.runtime import execute

            execute(env, owner="a-second-worker", job_id=job_id)


def make_harness(name: str, env: JobEnvironment, *, poll_seconds: float = 0.2) -> Harness:
    if name == "inprocess":
        return Harness(name, InProcessRunner(env, threads=2, poll_seconds=poll_seconds))
    redis_or_skip()
    namespace = f"dataright-test-{uuid.uuid4().hex[:10]}"
    runner = DramatiqRunner(
        env, broker_url=REDIS_URL, namespace=namespace, queue=namespace, threads=2, poll_seconds=poll_seconds
    )
    return Harness(name, runner, namespace)


@pytest.fixture(params=RUNNERS)
def runner(request: pytest.FixtureRequest, env: JobEnvironment) -> Iterator[Harness]:
    harness = make_harness(str(request.param), env)
    harness.runner.start()
    try:
        yield harness
    finally:
        harness.runner.stop()
        if harness.namespace:
            drop_namespace(harness.namespace)
