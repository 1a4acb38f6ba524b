"""Many concurrent checks on a PostgreSQL-backed server: a real ``dataright serve`` (uvicorn) on loopback,
against a database this test creates and drops. Every check answers, and ``/healthz`` stays up meanwhile.

The server runs with small pools on purpose (two connections for sessions, two for the checks, four worker
threads): a check that kept a connection it borrowed would starve the others, and the server would hang."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from consent_helpers import NEXALEARN, new_subject

from dataright.access.service import create_key
from dataright.config import Settings, use_settings
from dataright.consent import service
from dataright.consent.rules import EventKind, Method
from dataright.consent.targets import Target
from dataright.declarations.schema import Declaration
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET, PostgresDatabases

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]
CONCURRENT = 64
ROUNDS = 3
ANALYTICS = Target.purpose("analytics")
# generous: the machine may be busy with other tests; a server that hangs never answers at all
TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def seeded(postgres_databases: PostgresDatabases, nexalearn: Declaration) -> Iterator[tuple[str, str, dict[str, int]]]:
    """A fresh PostgreSQL database at head with a read key and subjects who gave (or withdrew) consent."""
    url = postgres_databases.create()
    use_settings(Settings(database_url=url, secret_key=TEST_SECRET))
    engine = make_engine(url)
    try:
        upgrade(engine)
        events: dict[str, int] = {}
        with session_scope(make_session_factory(engine)) as session:
            _, token = create_key(session, name="load", scopes=["consent:read"], controller_ids=[NEXALEARN])
            for number in range(8):
                subject = new_subject(session, NEXALEARN)
                kind = EventKind.given if number % 2 == 0 else EventKind.withdrawn
                event = service.record(
                    session,
                    declaration=nexalearn,
                    controller_id=NEXALEARN,
                    target=ANALYTICS,
                    kind=kind,
                    method=Method.api,
                    actor="test",
                    subject_id=subject.id,
                )
                events[str(subject.id)] = event.id
        yield url, token, events
    finally:
        engine.dispose()
        use_settings(None)


@pytest.fixture
def server(seeded: tuple[str, str, dict[str, int]], tmp_path: Path) -> Iterator[str]:
    url = seeded[0]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATARIGHT_")}
    env.update(
        DATARIGHT_DATABASE_URL=url,
        DATARIGHT_SECRET_KEY=TEST_SECRET,
        DATARIGHT_DB_POOL_SIZE="2",
        DATARIGHT_DB_MAX_OVERFLOW="0",
        DATARIGHT_CHECK_POOL_SIZE="2",
        DATARIGHT_WORKER_THREADS="4",
        DATARIGHT_DB_POOL_TIMEOUT="60",  # waiting for a connection is what is under test, not refused (503)
    )
    command = ["serve", "--port", str(port), "--declarations", str(ROOT / "examples" / "nexalearn"), "--no-access-log"]
    process = subprocess.Popen(
        [sys.executable, "-c", "from dataright.cli.main import app; app()", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                message = process.stderr.read() if process.stderr and process.poll() is not None else "no answer"
                pytest.fail(f"the server did not start: {message}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()


async def _storm(base: str, token: str, subjects: list[str]) -> tuple[list[httpx.Response], list[int]]:
    """``CONCURRENT`` checks at once, each on its own connection, ``ROUNDS`` times; ``/healthz`` asked
    over another connection while they are in flight."""
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    headers = {"Authorization": f"Bearer {token}"}
    answers: list[httpx.Response] = []
    health: list[int] = []
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=TIMEOUT) as client,
        httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as prober,
    ):

        async def probe(done: asyncio.Event) -> None:
            while not done.is_set():
                health.append((await prober.get("/healthz")).status_code)
                await asyncio.sleep(0.01)

        for _ in range(ROUNDS):
            done = asyncio.Event()
            prober_task = asyncio.create_task(probe(done))
            checks = [
                client.get(
                    "/api/v1/consent/check",
                    params={"controller": NEXALEARN, "subject_id": subjects[i % len(subjects)], "purpose": "analytics"},
                    headers=headers,
                )
                for i in range(CONCURRENT)
            ]
            answers += await asyncio.gather(*checks)
            done.set()
            await prober_task
    return answers, health


def test_64_concurrent_checks_on_postgresql_all_answer_and_healthz_stays_up(
    server: str, seeded: tuple[str, str, dict[str, int]]
) -> None:
    _, token, events = seeded
    subjects = [*events, str(uuid.uuid4())]
    answers, health = asyncio.run(_storm(server, token, subjects))
    assert len(answers) == CONCURRENT * ROUNDS
    assert [a.status_code for a in answers if a.status_code != 200] == []
    for answer in answers:
        subject = str(answer.request.url.params["subject_id"])
        assert answer.json()["event_id"] == events.get(subject), answer.text
    assert health and set(health) == {200}
    assert httpx.get(f"{server}/healthz", timeout=TIMEOUT).status_code == 200
