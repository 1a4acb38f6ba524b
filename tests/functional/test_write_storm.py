"""Concurrent writes: a storm of consent writes ends with every acknowledged write present, every refusal a
clean 503 with nothing written, and the audit chain intact; a write that cannot get its turn is a quick 503.

The app runs in this test's event loop (httpx's ASGI transport, the lifespan entered by hand), so the
requests really are in flight together, each one's write in a worker thread as under uvicorn.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dataright.access.service import create_key
from dataright.audit.service import seal_pending, verify
from dataright.config import Settings, use_settings
from dataright.consent.coverage import CONSENT_EVENTS
from dataright.consent.models import ConsentEvent
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import Unavailable
from dataright.storage.engine import make_engine, make_session_factory, run_in_transaction, session_scope
from dataright.storage.migrate import upgrade
from dataright.web.app import create_app
from fixtures.db import TEST_SECRET

NEXALEARN = "nexalearn"
STORM = 256
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def storm_url(fresh_db_url: str) -> Iterator[str]:
    upgrade(fresh_db_url)
    yield fresh_db_url
    use_settings(None)


def _app(url: str, examples_dir: Path, **settings: object) -> tuple[FastAPI, str]:
    app = create_app(
        Settings(database_url=url, secret_key=TEST_SECRET, base_url="https://testserver", **settings),
        DeclarationRegistry.from_paths([examples_dir / "nexalearn"]),
    )
    with session_scope(app.state.session_factory) as session:
        _, token = create_key(session, name="storm", scopes=["consent:write"], controller_ids=[NEXALEARN])
    return app, token


def _body(import_key: str) -> dict[str, object]:
    return {
        "subject": {"email": f"storm.{uuid.uuid4().hex}@example.org"},
        "purpose": "analytics",
        "kind": "given",
        "import_key": import_key,
    }


async def _storm(app: FastAPI, token: str, keys: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as client,
    ):
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        f"/api/v1/consent/events?controller={NEXALEARN}",
                        json=_body(key),
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    for key in keys
                )
            )
        )


def _stored(url: str, keys: list[str]) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine), write=False) as session:
            rows = session.execute(
                select(ConsentEvent.import_key, ConsentEvent.id).where(ConsentEvent.import_key.in_(keys))
            ).all()
        return {str(key): event_id for key, event_id in rows}
    finally:
        engine.dispose()


def _chain_ok(url: str) -> str:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        seal_pending(partial(session_scope, factory))
        with session_scope(factory, write=False) as session:
            report = verify(session, [CONSENT_EVENTS])
        assert report.ok and report.unsealed == 0, str(report)
        return str(report)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_storm_of_256_concurrent_writes_loses_nothing_acknowledged_and_writes_nothing_refused(
    storm_url: str, examples_dir: Path
) -> None:
    app, token = _app(storm_url, examples_dir)
    keys = [f"storm-{uuid.uuid4().hex}" for _ in range(STORM)]
    responses = asyncio.run(_storm(app, token, keys))
    stored = _stored(storm_url, keys)
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 503}, [r.text for r in responses if r.status_code not in (201, 503)][:3]
    for key, response in zip(keys, responses, strict=True):
        if response.status_code == 201:
            assert stored.get(key) == response.json()["id"]  # acknowledged: present, the very event answered
        else:
            assert response.headers["content-type"] == PROBLEM_JSON
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["status"] == 503
            assert key not in stored  # refused: nothing written
    assert sum(r.status_code == 201 for r in responses) == len(stored)
    assert f"{len(stored)} covered records match" in _chain_ok(storm_url)


def test_a_write_that_cannot_get_the_sqlite_write_lock_in_time_is_a_quick_503_and_writes_nothing(
    storm_url: str, backend: str, examples_dir: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("holds SQLite's write lock from another connection")
    app, token = _app(storm_url, examples_dir, db_write_timeout=0.3)
    key = f"blocked-{uuid.uuid4().hex}"

    async def blocked_write() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            blocker = sqlite3.connect(storm_url.removeprefix("sqlite:///"), isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # another process, writing for a long time
            try:
                return await client.post(
                    f"/api/v1/consent/events?controller={NEXALEARN}",
                    json=_body(key),
                    headers={"Authorization": f"Bearer {token}"},
                )
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()

    response = asyncio.run(blocked_write())
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON and response.headers["retry-after"] == "1"
    assert "busy" in response.json()["detail"]
    assert _stored(storm_url, [key]) == {}
    _chain_ok(storm_url)


def test_a_write_that_finds_no_free_connection_in_time_is_unavailable_and_writes_nothing(
    storm_url: str, backend: str
) -> None:
    engine = make_engine(storm_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    factory = make_session_factory(engine)
    written: list[str] = []

    def work(session: object) -> None:
        written.append("ran")

    try:
        # the only connection is taken by a long request
        with engine.connect(), pytest.raises(Unavailable, match="no free database connection") as caught:
            run_in_transaction(factory, work)
        assert caught.value.retry_after >= 1 and written == []
        run_in_transaction(factory, work)  # once the connection is back, the write runs
        assert written == ["ran"]
    finally:
        engine.dispose()


def test_a_write_whose_pooled_connection_the_database_closed_runs_once_more_on_a_new_one(
    storm_url: str, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("a SQLite connection is a file handle: nothing can close it from outside")
    engine, admin = make_engine(storm_url, pool_size=1, max_overflow=0), make_engine(storm_url)
    factory = make_session_factory(engine)

    def work(session: Session) -> int:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    try:
        first = run_in_transaction(factory, work)
        with admin.connect() as other:  # the pooled connection is closed by the server, as a restart would
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        assert run_in_transaction(factory, work) != first
    finally:
        engine.dispose()
        admin.dispose()
