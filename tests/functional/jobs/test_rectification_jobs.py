"""A rectification is carried out by the engine through the job: the corrected values the person gave are kept
encrypted on the request (never in the job's arguments, a log line or the audit trail), starting it queues
the job, and the job writes them into the datastore and ticks the task off. Without corrected values nothing
runs until staff give them; values the declaration refuses fail the job and leave a note naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from dataright.audit.models import AuditEntry
from dataright.jobs.models import Job
from dataright.jobs.runtime import JobEnvironment, execute
from dataright.requests.models import RightsRequest
from dataright.storage.engine import make_session_factory, session_scope
from fixtures.elearning import PEOPLE
from fixtures.web import MakeKey

pytestmark = pytest.mark.slow

NEXALEARN = "nexalearn"
NEW_PHONE = "+4791234567"
NEW_NAME = "Astrid Lie-Haugen"


def _call(client: TestClient, key: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.request(
        method, path, params={"controller": NEXALEARN}, json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


def _rectification(client: TestClient, key: str, corrections: dict[str, str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "rectification",
        "email": PEOPLE.astrid_email,
        "channel": "phone",
        "verified_reason": "known caller",
    }
    if corrections is not None:
        body["corrections"] = corrections
    return _call(client, key, "POST", "/api/v1/staff/requests", body)


def _job_of(factory: sessionmaker[Session], request_id: str) -> Job | None:
    with session_scope(factory, write=False) as session:
        found = session.scalars(
            select(Job).where(Job.dedupe_key == f"requests.fulfil:{request_id}").order_by(Job.created_at.desc())
        ).first()
        if found is not None:
            session.expunge(found)
        return found


def _astrid(url: str) -> tuple[str, str]:
    datastore = create_engine(url)
    try:
        with datastore.connect() as connection:
            row = connection.execute(
                text("SELECT name, phone FROM customers WHERE email = :e"), {"e": PEOPLE.astrid_email}
            ).one()
            return str(row.name), str(row.phone)
    finally:
        datastore.dispose()


def _env(app: FastAPI) -> JobEnvironment:
    return JobEnvironment(make_session_factory(app.state.engine), app.state.settings, app.state.registry)


def test_a_rectification_with_the_corrected_values_is_applied_by_its_job(
    app: FastAPI, client: TestClient, make_key: MakeKey, fresh_elearning_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = _rectification(client, key, {"customers.phone": NEW_PHONE, "customers.name": NEW_NAME})
    env = _env(app)
    with session_scope(env.factory, write=False) as session:
        stored = session.get(RightsRequest, uuid.UUID(filed["id"]))
        assert stored is not None and stored.corrections_ciphertext is not None
        assert NEW_PHONE.encode() not in stored.corrections_ciphertext  # kept encrypted

    shown = client.get(
        f"/api/v1/requests/{filed['reference']}/corrections",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert shown.json() == {"corrections": {"customers.name": NEW_NAME, "customers.phone": NEW_PHONE}}  # staff check

    started = _call(client, key, "POST", f"/api/v1/requests/{filed['reference']}/start", {})
    job = _job_of(env.factory, started["id"])
    assert job is not None and job.state == "queued" and job.args == {"request_id": started["id"]}

    assert execute(env, owner="test", job_id=job.id) == "succeeded"

    assert _astrid(fresh_elearning_url) == (NEW_NAME, NEW_PHONE)
    shown = client.get(
        f"/api/v1/requests/{filed['reference']}",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    task = next(t for t in shown["tasks"] if t["kind"] == "datastore")
    assert task["status"] == "done" and task["done_by"] == "jobs" and task["note"].startswith("engine run ")
    assert NEW_PHONE not in str(shown)
    # a second run (a duplicate delivery, a retry) changes nothing: the request's task is done
    assert execute(env, owner="test", job_id=job.id) is None
    with session_scope(env.factory, write=False) as session:
        finished = session.get(Job, job.id)
        assert finished is not None and finished.state == "succeeded"
        entries = session.scalars(select(AuditEntry)).all()
        trail = " ".join(str(e.details) for e in entries) + str(finished.result) + str(finished.args)
    for value in (NEW_PHONE, NEW_NAME, "91234567", PEOPLE.astrid_email):
        assert value not in trail


@pytest.mark.parametrize("fresh_elearning_url", ["postgresql"], indirect=True)
def test_a_rectification_without_values_waits_for_staff_and_refused_values_fail_with_a_note(
    app: FastAPI, client: TestClient, make_key: MakeKey, fresh_elearning_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = _rectification(client, key, None)
    started = _call(client, key, "POST", f"/api/v1/requests/{filed['reference']}/start", {})
    env = _env(app)
    assert _job_of(env.factory, started["id"]) is None  # nothing to apply yet
    none_yet = client.get(
        f"/api/v1/requests/{filed['reference']}/corrections",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert none_yet.status_code == 404

    # staff give a value the declaration does not let the person correct
    corrected = f"/api/v1/requests/{filed['reference']}/corrections"
    _call(client, key, "PUT", corrected, {"corrections": {"customers.password_hash": "x"}})
    refused = _job_of(env.factory, started["id"])
    assert refused is not None
    assert execute(env, owner="test", job_id=refused.id) == "failed"
    shown = client.get(
        f"/api/v1/requests/{filed['reference']}",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    task = next(t for t in shown["tasks"] if t["kind"] == "datastore")
    assert task["status"] == "open"
    assert (
        task["note"] == "the engine refused it: correction customers.password_hash: not a field the person may correct"
    )

    # a value that does not fit the column: the note says what is expected, and the value appears nowhere
    unfit = "the fifth of May 1990"
    _call(client, key, "PUT", corrected, {"corrections": {"customers.birth_date": unfit}})
    mistyped = _job_of(env.factory, started["id"])
    assert mistyped is not None and mistyped.id != refused.id
    assert execute(env, owner="test", job_id=mistyped.id) == "failed"
    shown = client.get(
        f"/api/v1/requests/{filed['reference']}",
        params={"controller": NEXALEARN},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    task = next(t for t in shown["tasks"] if t["kind"] == "datastore")
    assert task["note"] == (
        "the engine refused it: correction customers.birth_date: expected a date (ISO 8601, e.g. 2026-12-07)"
    )
    failed = _job_of(env.factory, started["id"])
    assert failed is not None and failed.last_error == "CorrectionRefused"  # the class only, as for every job

    # the right value: a new job is queued and applies it
    _call(client, key, "PUT", corrected, {"corrections": {"customers.phone": NEW_PHONE}})
    again = _job_of(env.factory, started["id"])
    assert again is not None and again.id not in (refused.id, mistyped.id)
    assert execute(env, owner="test", job_id=again.id) == "succeeded"
    assert _astrid(fresh_elearning_url)[1] == NEW_PHONE


def test_corrections_are_refused_on_other_request_types_and_when_malformed(
    client: TestClient, make_key: MakeKey
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    body = {"type": "erasure", "email": PEOPLE.astrid_email, "channel": "phone", "corrections": {"a.b": "c"}}
    wrong_type = client.post(
        "/api/v1/staff/requests",
        params={"controller": NEXALEARN},
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert wrong_type.status_code == 422 and "only a rectification" in wrong_type.json()["detail"]
    body = {"type": "rectification", "email": PEOPLE.astrid_email, "channel": "phone", "corrections": {"phone": "1"}}
    malformed = client.post(
        "/api/v1/staff/requests",
        params={"controller": NEXALEARN},
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert malformed.status_code == 422 and "'phone': expected table.field" in malformed.json()["detail"]
