"""An erasure started by staff is carried out by jobs: the scan enqueues the engine's run, a datastore that
does not answer leaves the request's tasks "waiting on datastore X" and the job waiting with back-off, and
once the datastore answers the next attempt erases the person and ticks the tasks off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from dataright.jobs.models import Job
from dataright.jobs.runtime import JobEnvironment, execute
from dataright.jobs.service import enqueue
from dataright.storage.engine import make_session_factory, session_scope
from dataright.storage.types import utcnow
from fixtures.elearning import PEOPLE
from fixtures.web import MakeKey

NEXALEARN = "nexalearn"
DATASET = "nexalearn-platform"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"


def _post(client: TestClient, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        path, params={"controller": NEXALEARN}, json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


def _scan(env: JobEnvironment) -> None:
    """What the ``requests.fulfil_scan`` schedule does, now."""
    with session_scope(env.factory) as session:
        scan = enqueue(session, "requests.fulfil_scan", {})
    assert execute(env, owner="test", job_id=scan) == "succeeded"


@pytest.mark.slow
@pytest.mark.parametrize("fresh_elearning_url", ["postgresql"], indirect=True)
def test_an_erasure_waits_on_an_unreachable_datastore_and_completes_when_it_answers(
    app: FastAPI, client: TestClient, make_key: MakeKey, fresh_elearning_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = _post(
        client,
        key,
        "/api/v1/staff/requests",
        {"type": "erasure", "email": PEOPLE.gunnhild_email, "channel": "phone", "verified_reason": "known caller"},
    )
    started = _post(client, key, f"/api/v1/requests/{filed['reference']}/start", {})
    datastore_tasks = [t for t in started["tasks"] if t["kind"] == "datastore"]
    assert [t["target"] for t in datastore_tasks] == [DATASET]

    factory = make_session_factory(app.state.engine)
    env = JobEnvironment(factory, app.state.settings, app.state.registry)
    _scan(env)
    with session_scope(factory, write=False) as session:
        job = session.scalars(select(Job).where(Job.dedupe_key.like("requests.fulfil:%"))).all()
    mine = [j for j in job if j.args["request_id"] == started["id"]]
    assert len(mine) == 1
    job_id = mine[0].id

    monkeypatch.setenv("NEXALEARN_DB_URL", UNREACHABLE)
    assert execute(env, owner="test", job_id=job_id) == "waiting"
    shown = client.get(
        f"/api/v1/requests/{filed['reference']}",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    task = next(t for t in shown["tasks"] if t["kind"] == "datastore")
    assert task["status"] == "open" and task["note"].startswith(f"waiting on datastore {DATASET}")
    with session_scope(factory, write=False) as session:
        waiting = session.get(Job, job_id)
        assert waiting is not None and waiting.state == "waiting"
        assert (waiting.last_error or "").startswith(f"DatastoreUnavailable: waiting on datastore {DATASET}")
        assert waiting.run_after > utcnow() + timedelta(seconds=30)  # back-off: not before a minute has passed
        assert "example.no" not in str(waiting.args) + (waiting.last_error or "")

    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    assert execute(env, owner="test", job_id=job_id) is None  # still backing off
    env.clock = lambda: utcnow() + timedelta(minutes=2)
    assert execute(env, owner="test", job_id=job_id) == "succeeded"
    shown = client.get(
        f"/api/v1/requests/{filed['reference']}",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    task = next(t for t in shown["tasks"] if t["kind"] == "datastore")
    assert task["status"] == "done" and task["done_by"] == "jobs" and task["note"].startswith("engine run ")
    datastore = create_engine(fresh_elearning_url)
    try:
        with datastore.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM customers WHERE email = :e"), {"e": PEOPLE.gunnhild_email}
            ).scalar()
        assert left == 0
    finally:
        datastore.dispose()
    _scan(env)  # enqueues nothing more for this request: its job ran
    with session_scope(factory, write=False) as session:
        again = session.scalars(select(Job).where(Job.dedupe_key == f"requests.fulfil:{started['id']}")).all()
        assert len(again) == 1
