"""What a person writes about their request (``details``) is kept encrypted and read by the controller's staff
alone, at ``GET /api/v1/requests/{ref}/details``; the request itself only says that there is something to read,
and the words never reach a log line or the audit trail."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_helpers import NESTPROS, NEXALEARN, email, file_and_verify, staff
from sqlalchemy import select

from dataright.audit.models import AuditEntry
from dataright.requests import api as requests_api
from dataright.requests.models import RightsRequest
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.dependencies import WindowLimiter
from fixtures.web import MakeKey


@pytest.fixture(autouse=True)
def roomy_limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))
    yield


def _words() -> str:
    return f"Please include the teacher's notes about me from the spring course ({uuid.uuid4().hex})"


def _details(client: TestClient, key: str, controller: str, reference: str) -> tuple[int, dict[str, object]]:
    response = client.get(
        f"/api/v1/requests/{reference}/details", params={"controller": controller}, headers=staff(key)
    )
    body: dict[str, object] = response.json()
    return response.status_code, body


def test_staff_read_what_the_person_wrote_and_it_stays_out_of_logs_and_the_audit_trail(
    app: FastAPI, client: TestClient, make_key: MakeKey, caplog: pytest.LogCaptureFixture
) -> None:
    words = _words()
    reader = make_key(scopes=["requests:read"], controllers=[NEXALEARN])
    writer = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    with caplog.at_level(logging.DEBUG):
        filed = file_and_verify(app, client, NEXALEARN, "access", email(), details=words)
        reference = filed["reference"]

        status, read = _details(client, reader, NEXALEARN, reference)
        assert status == 200 and read == {"reference": reference, "details": words}

        shown = client.get(f"/api/v1/requests/{reference}", params={"controller": NEXALEARN}, headers=staff(reader))
        assert shown.status_code == 200 and shown.json()["has_details"] is True
        assert words not in shown.text  # the request says there is something to read; the words are read apart
        listed = client.get("/api/v1/requests", params={"controller": NEXALEARN}, headers=staff(reader))
        assert listed.status_code == 200 and words not in listed.text
        assigned = client.post(
            f"/api/v1/requests/{reference}/assign",
            params={"controller": NEXALEARN},
            json={"to": "dpo@nexalearn.example"},
            headers={**staff(writer), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert assigned.status_code == 200 and words not in assigned.text  # write answers are stored for replays

    assert words not in caplog.text
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        stored = session.scalars(select(RightsRequest).where(RightsRequest.reference == reference)).one()
        assert stored.details_ciphertext is not None and words.encode() not in stored.details_ciphertext
        trail = [json.dumps(e.details, ensure_ascii=False) for e in session.scalars(select(AuditEntry))]
    assert any(reference in entry for entry in trail)  # the filing, verification and assignment were audited
    assert not any(words in entry or "teacher" in entry for entry in trail)


def test_another_controllers_key_gets_the_same_404_as_for_a_request_that_does_not_exist(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    words = _words()
    reference = file_and_verify(app, client, NEXALEARN, "access", email(), details=words)["reference"]
    elsewhere = make_key(scopes=["requests:read"], controllers=[NESTPROS])

    status, other = _details(client, elsewhere, NESTPROS, reference)
    missing_status, missing = _details(client, elsewhere, NESTPROS, "R-AAAAAAAAAA")

    assert status == missing_status == 404
    assert other["title"] == missing["title"] and words not in json.dumps(other)
    wrong_controller = client.get(
        f"/api/v1/requests/{reference}/details", params={"controller": NEXALEARN}, headers=staff(elsewhere)
    )
    assert wrong_controller.status_code == 403  # a NestPros key cannot ask as NexaLearn


def test_a_request_without_details_answers_404_and_says_so_on_the_request(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    reference = file_and_verify(app, client, NEXALEARN, "access", email())["reference"]
    key = make_key(scopes=["requests:read"], controllers=[NEXALEARN])

    status, body = _details(client, key, NEXALEARN, reference)
    shown = client.get(f"/api/v1/requests/{reference}", params={"controller": NEXALEARN}, headers=staff(key))

    assert status == 404 and "no details" in str(body["detail"])
    assert shown.json()["has_details"] is False


def test_details_staff_take_down_on_a_persons_behalf_are_read_back_alike(client: TestClient, make_key: MakeKey) -> None:
    words = _words()
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = client.post(
        "/api/v1/staff/requests",
        params={"controller": NEXALEARN},
        json={"type": "access", "email": email(), "channel": "phone", "details": words},
        headers={**staff(key), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["has_details"] is True and words not in filed.text

    status, read = _details(client, key, NEXALEARN, filed.json()["reference"])

    assert status == 200 and read["details"] == words
