"""Starting a request queues the engine's job in the same transaction: the API's and the CLI's ``start`` write
the ``requests.fulfil`` row with the status change, the runners hear of it only after the commit, and a
transaction that rolls back leaves neither the status change nor the job."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataright.declarations.registry import DeclarationRegistry
from dataright.jobs import service as jobs
from dataright.jobs.fulfilment import start_work
from dataright.jobs.models import Job
from dataright.requests import service as requests
from dataright.requests.models import RightsRequest
from dataright.storage.engine import make_session_factory, session_scope
from fixtures.elearning import PEOPLE
from fixtures.rights_requests import file_by_staff
from fixtures.web import MakeKey

NEXALEARN = "nexalearn"


class Heard:
    """A listener that records what the after-commit hand-over announced."""

    def __init__(self) -> None:
        self.ids: list[uuid.UUID] = []

    def __call__(self, key: str, ids: list[uuid.UUID]) -> None:
        self.ids.extend(ids)


@pytest.fixture
def heard() -> Iterator[Heard]:
    listener = Heard()
    jobs.add_listener(listener)
    yield listener
    jobs.remove_listener(listener)


def _post(client: TestClient, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        path, params={"controller": NEXALEARN}, json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


def _fulfil_jobs(factory: sessionmaker[Session], request_id: str) -> list[Job]:
    with session_scope(factory, write=False) as session:
        found = session.scalars(select(Job).where(Job.dedupe_key == f"requests.fulfil:{request_id}")).all()
        session.expunge_all()
        return list(found)


def test_starting_an_erasure_through_the_api_queues_its_engine_job_with_the_commit(
    app: FastAPI, client: TestClient, make_key: MakeKey, heard: Heard
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = _post(
        client,
        key,
        "/api/v1/staff/requests",
        {"type": "erasure", "email": PEOPLE.astrid_email, "channel": "phone", "verified_reason": "known caller"},
    )
    factory = make_session_factory(app.state.engine)
    assert _fulfil_jobs(factory, filed["id"]) == []

    started = _post(client, key, f"/api/v1/requests/{filed['reference']}/start", {})

    assert started["status"] == "in_progress"
    [job] = _fulfil_jobs(factory, started["id"])
    assert job.kind == "requests.fulfil" and job.state == "queued" and job.args == {"request_id": started["id"]}
    assert job.created_by.startswith("key:")  # the staff key that started it
    assert job.id in heard.ids  # announced to the runners once the start was committed
    assert "@" not in str(job.args)


def test_an_access_request_queues_no_engine_job(app: FastAPI, client: TestClient, make_key: MakeKey) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = _post(
        client,
        key,
        "/api/v1/staff/requests",
        {"type": "access", "email": PEOPLE.astrid_email, "channel": "phone", "verified_reason": "known caller"},
    )
    started = _post(client, key, f"/api/v1/requests/{filed['reference']}/start", {})
    assert started["status"] == "in_progress"
    assert _fulfil_jobs(make_session_factory(app.state.engine), started["id"]) == []


def _verified_erasure(factory: sessionmaker[Session], registry: DeclarationRegistry) -> uuid.UUID:
    declaration = registry.controller(NEXALEARN).declaration
    with session_scope(factory) as session:
        filed = file_by_staff(
            session,
            declaration,
            controller_id=NEXALEARN,
            kind="erasure",
            email=PEOPLE.astrid_email,
            verified_reason="known caller",
        )
        return filed.id


def test_a_start_whose_transaction_rolls_back_queues_nothing(
    app: FastAPI, registry: DeclarationRegistry, heard: Heard
) -> None:
    factory = make_session_factory(app.state.engine)
    request_id = _verified_erasure(factory, registry)
    declaration = registry.controller(NEXALEARN).declaration

    with pytest.raises(RuntimeError), session_scope(factory) as session:
        found = session.get(RightsRequest, request_id)
        assert found is not None
        requests.start(session, declaration=declaration, request=found, actor="test")
        job_id = start_work(session, found, actor="test")
        assert job_id is not None  # written in this transaction...
        raise RuntimeError("something later in the same transaction failed")

    assert _fulfil_jobs(factory, str(request_id)) == []  # ...and gone with it
    assert job_id not in heard.ids
    with session_scope(factory, write=False) as session:
        found = session.get(RightsRequest, request_id)
        assert found is not None and found.status == "verified"

    with session_scope(factory) as session:  # the same start, committed this time
        found = session.get(RightsRequest, request_id)
        assert found is not None
        requests.start(session, declaration=declaration, request=found, actor="test")
        committed = start_work(session, found, actor="test")
        assert start_work(session, found, actor="test") == committed  # one live job per request
    assert [j.id for j in _fulfil_jobs(factory, str(request_id))] == [committed]
    assert heard.ids.count(committed) == 1
