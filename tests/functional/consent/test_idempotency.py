"""``Idempotency-Key`` on every write route: a retry writes once, another body under the key is a 422, a retry
while the first request runs is a 409, keys are scoped and expire."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from consent_helpers import NESTIT, NEXALEARN, device_token, email
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.consent import service as consent_service
from dataright.consent.models import ConsentEvent
from dataright.idempotency import service
from dataright.idempotency.models import IdempotencyKey
from dataright.identity.crypto import decrypt
from dataright.mail import service as mail_service
from dataright.requests import api as requests_api
from dataright.web.app import routes_without_idempotency
from dataright.web.dependencies import WindowLimiter
from dataright.web.idempotency import HEADER, REPLAYED_HEADER, IdempotentWrite
from dataright.web.routes import iter_routes
from fixtures.web import MakeKey

Send = Callable[[TestClient, dict[str, str], str], Response]


@pytest.fixture
def writer(make_key: MakeKey) -> dict[str, str]:
    token = make_key(
        scopes=["consent:read", "consent:write", "requests:write", "breach:write", "cookies:write"],
        controllers=[NEXALEARN, NESTIT],
    )
    return {"Authorization": f"Bearer {token}"}


def _rows(engine: Engine) -> tuple[int, int]:
    """(consent events, audit entries) in the database."""
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(ConsentEvent)).scalar_one()
        audits = connection.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    return int(events), int(audits)


def _subject(client: TestClient, headers: dict[str, str], controller: str = NEXALEARN) -> str:
    purpose = "analytics" if controller == NEXALEARN else "newsletter"
    body = {"subject": {"email": email()}, "purpose": purpose, "kind": "given"}
    response = client.post(f"/api/v1/consent/events?controller={controller}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["subject_id"])


def _record_event(client: TestClient, headers: dict[str, str], key: str) -> Response:
    body = {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"}
    return client.post(f"/api/v1/consent/events?controller={NEXALEARN}", json=body, headers={**headers, HEADER: key})


def _put_preferences(client: TestClient, headers: dict[str, str], key: str) -> Response:
    subject = _subject(client, headers, NESTIT)
    body = {"choices": [{"topic": "newsletter-email", "channel": "email", "enabled": True}]}
    url = f"/api/v1/consent/subjects/{subject}/preferences?controller={NESTIT}"
    return client.put(url, json=body, headers={**headers, HEADER: key})


def _cookie_consent(client: TestClient, headers: dict[str, str], key: str) -> Response:
    body = {"controller": NEXALEARN, "device_id": device_token(), "accepted": ["performance"]}
    return client.post("/api/v1/cookie-consent", json=body, headers={HEADER: key})


def _link_device(client: TestClient, headers: dict[str, str], key: str) -> Response:
    device = device_token()
    banner = {"controller": NEXALEARN, "device_id": device, "accepted": ["performance"]}
    assert client.post("/api/v1/cookie-consent", json=banner).status_code == 201
    body = {"device_id": device, "subject_id": _subject(client, headers)}
    url = f"/api/v1/consent/devices/link?controller={NEXALEARN}"
    return client.post(url, json=body, headers={**headers, HEADER: key})


def _check_batch(client: TestClient, headers: dict[str, str], key: str) -> Response:
    body = {"items": [{"device_id": device_token(), "cookie": "targeting"}]}
    url = f"/api/v1/consent/check/batch?controller={NEXALEARN}"
    return client.post(url, json=body, headers={**headers, HEADER: key, "Sec-GPC": "1"})


# -- rights requests ------------------------------------------------------------------------------
REQUESTS = "/api/v1/requests"


@pytest.fixture(autouse=True)
def roomy_public_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))


def _staff_request(
    client: TestClient,
    headers: dict[str, str],
    kind: str = "access",
    verified: bool = True,
    controller: str = NEXALEARN,
) -> str:
    body: dict[str, Any] = {"type": kind, "email": email(), "channel": "phone"}
    if verified:
        body["verified_reason"] = "Called back on the number in the customer file"
    response = client.post(f"/api/v1/staff/requests?controller={controller}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def _staff_action(
    path: str,
    body: dict[str, Any],
    kind: str = "access",
    verified: bool = True,
    controller: str = NEXALEARN,
    method: str = "POST",
) -> Send:
    def send(client: TestClient, headers: dict[str, str], key: str) -> Response:
        reference = _staff_request(client, headers, kind, verified, controller)
        url = f"{REQUESTS}/{reference}/{path}?controller={controller}"
        return client.request(method, url, json=body, headers={**headers, HEADER: key})

    return send


def _queue_cookie_scan(client: TestClient, headers: dict[str, str], key: str) -> Response:
    body = {"url": "https://www.nexalearn.no/", "max_pages": 2}
    return client.post(f"/api/v1/cookie-scans?controller={NEXALEARN}", json=body, headers={**headers, HEADER: key})


def _code(app: FastAPI, address: str) -> str:
    """The one-time code in the latest verification mail to ``address`` (decrypted from the outbox)."""
    with app.state.session_factory() as session:
        row = mail_service.sent_to(session, controller_id=NEXALEARN, address=address)[-1]
        text = json.loads(decrypt(NEXALEARN, mail_service._content_kind(row.id), row.content_ciphertext))["text"]
    match = re.search(r"\b(\d{6})\b", text)
    assert match is not None
    return match.group(1)


def _public_request(client: TestClient, address: str) -> str:
    body = {"controller": NEXALEARN, "type": "access", "email": address}
    response = client.post(REQUESTS, json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["reference"])


def _file_request(client: TestClient, headers: dict[str, str], key: str) -> Response:
    return client.post(
        REQUESTS, json={"controller": NEXALEARN, "type": "erasure", "email": email()}, headers={HEADER: key}
    )


def _verify_code(client: TestClient, headers: dict[str, str], key: str) -> Response:
    address = email()
    reference = _public_request(client, address)
    app: FastAPI = client.app  # type: ignore[assignment]
    code = _code(app, address)
    return client.post(f"{REQUESTS}/{reference}/verify", json={"code": code}, headers={HEADER: key})


def _resend(client: TestClient, headers: dict[str, str], key: str) -> Response:
    reference = _public_request(client, email())
    return client.post(f"{REQUESTS}/{reference}/resend", json={}, headers={HEADER: key})


def _file_on_behalf(client: TestClient, headers: dict[str, str], key: str) -> Response:
    body = {"type": "rectification", "email": email(), "channel": "letter"}
    return client.post(f"/api/v1/staff/requests?controller={NEXALEARN}", json=body, headers={**headers, HEADER: key})


def _task_done(client: TestClient, headers: dict[str, str], key: str) -> Response:
    reference = _staff_request(client, headers, "erasure")
    started = client.post(f"{REQUESTS}/{reference}/start?controller={NEXALEARN}", headers=headers)
    task = started.json()["tasks"][0]["id"]
    url = f"{REQUESTS}/{reference}/tasks/{task}/done?controller={NEXALEARN}"
    return client.post(url, json={"note": "sent"}, headers={**headers, HEADER: key})


def _lookup(client: TestClient, headers: dict[str, str], key: str) -> Response:
    subject_id = _subject(client, headers)
    assert subject_id
    return client.post(
        f"/api/v1/subjects/lookup?controller={NEXALEARN}", json={"email": email()}, headers={**headers, HEADER: key}
    )


BREACHES = f"/api/v1/controllers/{NEXALEARN}/breaches"
INCIDENT = {
    "occurred_at": "2026-11-27T17:00:00+01:00",
    "aware_at": "2026-11-27T19:30:00+01:00",
    "description": "An export was readable by other schools.",
    "systems": ["scanditek"],
    "categories": ["user.name"],
    "affected_people": 12,
    "likely_consequences": "Names seen by others.",
    "measures": "Export closed.",
}


def _breach(client: TestClient, headers: dict[str, str], *, assessed: bool = False) -> str:
    opened = client.post(BREACHES, json=INCIDENT, headers=headers)
    assert opened.status_code == 201, opened.text
    breach_id = str(opened.json()[0]["id"])
    if assessed:
        response = client.post(f"{BREACHES}/{breach_id}/assessment", json={"risk": "high"}, headers=headers)
        assert response.status_code == 200, response.text
    return breach_id


def _open_breach(client: TestClient, headers: dict[str, str], key: str) -> Response:
    return client.post(BREACHES, json=INCIDENT, headers={**headers, HEADER: key})


def _assess_breach(client: TestClient, headers: dict[str, str], key: str) -> Response:
    url = f"{BREACHES}/{_breach(client, headers)}/assessment"
    return client.post(url, json={"risk": "high"}, headers={**headers, HEADER: key})


def _submit_breach(client: TestClient, headers: dict[str, str], key: str) -> Response:
    url = f"{BREACHES}/{_breach(client, headers, assessed=True)}/authority-submissions"
    return client.post(url, json={"sent_at": "2026-11-28T10:00:00+01:00"}, headers={**headers, HEADER: key})


def _notify_people(client: TestClient, headers: dict[str, str], key: str) -> Response:
    url = f"{BREACHES}/{_breach(client, headers, assessed=True)}/subject-notices"
    message = {"description": "d", "likely_consequences": "c", "measures": "m", "contact": "x"}
    body = {"recipients": [{"email": email(), "language": "nb"}], "messages": {"nb": message}}
    return client.post(url, json=body, headers={**headers, HEADER: key})


WRITES: dict[str, Send] = {
    "POST /api/v1/controllers/{controller_id}/breaches": _open_breach,
    "POST /api/v1/controllers/{controller_id}/breaches/{breach_id}/assessment": _assess_breach,
    "POST /api/v1/controllers/{controller_id}/breaches/{breach_id}/authority-submissions": _submit_breach,
    "POST /api/v1/controllers/{controller_id}/breaches/{breach_id}/subject-notices": _notify_people,
    "POST /api/v1/consent/events": _record_event,
    "PUT /api/v1/consent/subjects/{subject_id}/preferences": _put_preferences,
    "POST /api/v1/cookie-consent": _cookie_consent,
    "POST /api/v1/consent/devices/link": _link_device,
    "POST /api/v1/consent/check/batch": _check_batch,
    "POST /api/v1/requests": _file_request,
    "POST /api/v1/requests/{reference}/verify": _verify_code,
    "POST /api/v1/requests/{reference}/resend": _resend,
    "POST /api/v1/staff/requests": _file_on_behalf,
    "POST /api/v1/requests/{ref}/verify-identity": _staff_action(
        "verify-identity", {"reason": "Passport seen at the front desk"}, verified=False
    ),
    "POST /api/v1/requests/{ref}/assign": _staff_action("assign", {"to": "privacy.officer@nexalearn.no"}),
    "POST /api/v1/requests/{ref}/start": _staff_action("start", {}),
    # NestIT's notice offers an extension ("within two months"); NexaLearn's promises 30 days at the latest
    "POST /api/v1/requests/{ref}/extend": _staff_action(
        "extend", {"reason": "Several systems to search"}, controller=NESTIT
    ),
    "PUT /api/v1/requests/{ref}/corrections": _staff_action(
        "corrections", {"corrections": {"customers.phone": "+4791234567"}}, kind="rectification", method="PUT"
    ),
    "POST /api/v1/cookie-scans": _queue_cookie_scan,
    "POST /api/v1/requests/{ref}/deny": _staff_action("deny", {"reason": "manifestly_unfounded"}),
    "POST /api/v1/requests/{ref}/withdraw": _staff_action("withdraw", {"reason": "asked by phone"}),
    "POST /api/v1/requests/{ref}/tasks/{task_id}/done": _task_done,
    "POST /api/v1/requests/{ref}/complete": _staff_action("complete", {}, kind="objection"),
    "POST /api/v1/subjects/lookup": _lookup,
}


def test_every_write_route_takes_an_idempotency_key_and_has_a_retry_test_here(app: FastAPI) -> None:
    writes = {f"{r.method} {r.path}" for r in iter_routes(app) if r.method != "GET" and r.path.startswith("/api/v1/")}
    assert writes == set(WRITES)
    assert routes_without_idempotency(app) == []


def test_a_write_route_without_the_guard_is_found() -> None:
    app = FastAPI()

    @app.post("/api/v1/things")
    def unguarded() -> dict[str, str]:
        return {}

    @app.post("/api/v1/guarded")
    def guarded(retry: IdempotentWrite) -> dict[str, str]:
        return {}

    assert routes_without_idempotency(app) == [("POST", "/api/v1/things")]


class _Replayed:
    """Replays a request: the helpers make new subjects, so the retry resends the first request's exact body."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.sent: list[tuple[str, str, bytes, dict[str, str]]] = []
        original = client.request

        def spy(method: str, url: Any, **kwargs: Any) -> Response:
            response = original(method, url, **kwargs)
            self.sent.append((method, str(url), response.request.content, dict(response.request.headers)))
            return response

        client.request = spy  # type: ignore[method-assign]

    def again(self, *, body: bytes | None = None) -> Response:
        method, url, content, headers = self.sent[-1]
        headers.pop("content-length", None)
        return self.client.request(method, url, content=content if body is None else body, headers=headers)


@pytest.mark.parametrize("route", sorted(WRITES))
def test_a_retried_write_with_the_same_idempotency_key_writes_once(
    client: TestClient, writer: dict[str, str], engine: Engine, route: str
) -> None:
    replay = _Replayed(client)
    first = WRITES[route](client, writer, f"retry-{uuid.uuid4()}")
    assert first.status_code in (200, 201, 202), first.text
    assert REPLAYED_HEADER.lower() not in first.headers
    before = _rows(engine)
    for _ in range(2):
        again = replay.again()
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers[REPLAYED_HEADER] == "true"
    assert _rows(engine) == before  # nothing written by the retries


@pytest.mark.parametrize("route", sorted(WRITES))
def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(
    client: TestClient, writer: dict[str, str], engine: Engine, route: str
) -> None:
    replay = _Replayed(client)
    first = WRITES[route](client, writer, f"reuse-{uuid.uuid4()}")
    assert first.status_code in (200, 201, 202), first.text
    before = _rows(engine)
    other = replay.again(body=replay.sent[-1][2].replace(b"}", b', "zz": 1}', 1))
    assert other.status_code == 422, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "urn:dataright:problem:idempotency-key-reused"
    assert "Idempotency-Key" in other.json()["detail"]
    assert _rows(engine) == before


def test_a_retry_while_the_first_request_runs_is_a_409(
    client: TestClient, writer: dict[str, str], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    record = consent_service.record

    def slow_record(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(60)
        return record(*args, **kwargs)

    monkeypatch.setattr(consent_service, "record", slow_record)
    key = f"inflight-{uuid.uuid4()}"
    body = {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"}
    url = f"/api/v1/consent/events?controller={NEXALEARN}"
    results: list[Response] = []
    headers = {**writer, HEADER: key}
    first = threading.Thread(target=lambda: results.append(client.post(url, json=body, headers=headers)))
    first.start()
    try:
        assert entered.wait(60)
        second = client.post(url, json=body, headers={**writer, HEADER: key})
    finally:
        release.set()
        first.join(60)
    assert second.status_code == 409, second.text
    assert second.json()["type"] == "urn:dataright:problem:idempotency-key-in-flight"
    assert results[0].status_code == 201
    monkeypatch.setattr(consent_service, "record", record)
    before = _rows(engine)
    third = client.post(url, json=body, headers={**writer, HEADER: key})
    assert (third.status_code, third.content) == (201, results[0].content)
    assert _rows(engine) == before


def test_keys_are_scoped_to_the_api_key(client: TestClient, writer: dict[str, str], make_key: MakeKey) -> None:
    other = {"Authorization": f"Bearer {make_key(scopes=['consent:write'], controllers=[NEXALEARN])}"}
    key = f"shared-{uuid.uuid4()}"
    body = {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"}
    url = f"/api/v1/consent/events?controller={NEXALEARN}"
    mine = client.post(url, json=body, headers={**writer, HEADER: key})
    theirs = client.post(url, json=body, headers={**other, HEADER: key})
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED_HEADER.lower() not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_failed_write_keeps_no_key_and_its_retry_runs(client: TestClient, writer: dict[str, str]) -> None:
    key = f"fails-{uuid.uuid4()}"
    body = {"subject": {"subject_id": str(uuid.uuid4())}, "purpose": "analytics", "kind": "given"}
    url = f"/api/v1/consent/events?controller={NEXALEARN}"
    assert client.post(url, json=body, headers={**writer, HEADER: key}).status_code == 404
    body["subject"] = {"subject_id": _subject(client, writer)}
    assert client.post(url, json=body, headers={**writer, HEADER: key}).status_code == 201


@pytest.mark.parametrize(
    "bad", [b"", b"x" * 256, "héllo".encode(), b"two words"], ids=["empty", "long", "utf8", "space"]
)
def test_a_malformed_key_is_a_422_naming_the_header(client: TestClient, writer: dict[str, str], bad: bytes) -> None:
    body = {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"}
    headers: dict[str, str | bytes] = {**writer, HEADER: bad}
    response = client.post(f"/api/v1/consent/events?controller={NEXALEARN}", json=body, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]


def test_keys_expire_and_are_purged(session: Session) -> None:
    now = datetime(2001, 2, 3, 4, 5, tzinfo=UTC)  # long before the keys other tests leave behind
    fp = service.fingerprint("POST", "/x", b"{}")
    assert service.claim(session, scope="s", key="k", fingerprint=fp, now=now) is None
    service.complete(session, scope="s", key="k", answer=service.Answer(201, "application/json", b"{}"))
    later = now + service.KEY_LIFETIME - timedelta(seconds=1)
    assert service.claim(session, scope="s", key="k", fingerprint=fp, now=later) == service.Answer(
        201, "application/json", b"{}"
    )
    with pytest.raises(service.IdempotencyKeyReused):
        service.claim(session, scope="s", key="k", fingerprint=service.fingerprint("POST", "/y"), now=later)
    assert service.purge_expired(session, now=later) == 0
    expired = now + service.KEY_LIFETIME
    assert service.purge_expired(session, now=expired) == 1
    assert session.get(IdempotencyKey, ("s", "k")) is None
    assert service.claim(session, scope="s", key="k", fingerprint=service.fingerprint("other"), now=expired) is None


def test_an_import_key_sent_again_with_another_event_is_a_422(
    client: TestClient, writer: dict[str, str], engine: Engine
) -> None:
    url = f"/api/v1/consent/events?controller={NEXALEARN}"
    subject = {"email": email()}
    body = {"subject": subject, "purpose": "analytics", "kind": "given", "import_key": f"crm-{uuid.uuid4()}"}
    first = client.post(url, json=body, headers=writer)
    assert first.status_code == 201, first.text
    before = _rows(engine)
    same = client.post(url, json=body, headers=writer)
    assert (same.status_code, same.json()["id"]) == (201, first.json()["id"])
    other = client.post(url, json={**body, "kind": "withdrawn"}, headers=writer)
    assert other.status_code == 422, other.text
    assert other.json()["type"] == "urn:dataright:problem:import-key-reused"
    assert "import_key" in other.json()["detail"] and "kind given, not withdrawn" in other.json()["detail"]
    assert _rows(engine) == before
