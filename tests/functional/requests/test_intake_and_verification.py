"""Filing a request over the public API and proving who asks: codes, magic links, limits, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_helpers import CODE, LINK, NESTPROS, NEXALEARN, code_for, email, file, file_and_verify, mails, staff
from sqlalchemy import func, select

from dataright.identity import service as identity
from dataright.requests import api as requests_api
from dataright.requests.models import RightsRequest, VerificationChallenge
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.dependencies import WindowLimiter
from fixtures.web import MakeKey


@pytest.fixture(autouse=True)
def roomy_limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))
    yield


def _count(app: FastAPI) -> int:
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        return int(session.execute(select(func.count()).select_from(RightsRequest)).scalar_one())


def _challenge(app: FastAPI, reference: str) -> VerificationChallenge:
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        request = session.execute(select(RightsRequest).where(RightsRequest.reference == reference)).scalar_one()
        return (
            session.execute(
                select(VerificationChallenge)
                .where(VerificationChallenge.request_id == request.id)
                .order_by(VerificationChallenge.id.desc())
            )
            .scalars()
            .first()
        )  # type: ignore[return-value]


def test_a_request_is_confirmed_with_the_code_and_acknowledged_with_its_deadlines(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    filed = file(client, NEXALEARN, "access", address)
    assert filed["status"] == "received" and filed["reference"].startswith("R-")
    verification = mails(app, NEXALEARN, address, "request_verification")
    assert len(verification) == 1 and verification[0].language == "nb"  # NexaLearn answers in Norwegian first
    response = client.post(
        f"/api/v1/requests/{filed['reference']}/verify", json={"code": code_for(app, NEXALEARN, address)}
    )
    assert response.status_code == 200 and response.json()["status"] == "verified"
    key = make_key(scopes=["requests:read"], controllers=[NEXALEARN])
    shown = client.get(f"/api/v1/requests/{filed['reference']}", params={"controller": NEXALEARN}, headers=staff(key))
    body = shown.json()
    assert body["status"] == "verified" and body["verification_method"] == "email_code"
    assert body["promised_due_on"] is not None and body["due_on"] == min(
        body["statutory_due_on"], body["promised_due_on"]
    )
    received = mails(app, NEXALEARN, address, "request_received")
    assert len(received) == 1 and filed["reference"] in received[0].text


def test_the_answer_is_the_same_whether_or_not_the_person_is_known(app: FastAPI, client: TestClient) -> None:
    known = email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": known})
    answers = [file(client, NEXALEARN, "erasure", address) for address in (known, email())]
    assert next(sorted(a) for a in answers) == sorted(answers[1])
    assert {a["status"] for a in answers} == {"received"} and answers[0]["message"] == answers[1]["message"]


def test_the_magic_link_shows_a_button_and_confirms_only_when_pressed(app: FastAPI, client: TestClient) -> None:
    address = email()
    filed = file(client, NEXALEARN, "access", address, language="en")
    match = LINK.search(mails(app, NEXALEARN, address, "request_verification")[-1].text)
    assert match is not None
    page = client.get(f"/v/{match.group(1)}")
    assert page.status_code == 200 and filed["reference"] in page.text and "<form" in page.text
    assert _challenge(app, filed["reference"]).used_at is None
    confirmed = client.post(f"/v/{match.group(1)}")
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text
    again = client.post(f"/v/{match.group(1)}")
    assert again.status_code == 409 and "not valid" in again.text
    assert client.get("/v/not-a-token-that-was-ever-sent-0000").status_code == 404


def test_wrong_codes_count_and_lock_the_code_and_a_new_code_works(app: FastAPI, client: TestClient) -> None:
    address = email()
    filed = file(client, NEXALEARN, "access", address)
    right = code_for(app, NEXALEARN, address)
    wrong = "000000" if right != "000000" else "111111"
    answers = [client.post(f"/api/v1/requests/{filed['reference']}/verify", json={"code": wrong}) for _ in range(5)]
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 423]
    assert "4 attempt(s) left" in answers[0].json()["detail"]
    assert answers[0].headers["content-type"] == "application/problem+json"
    locked = client.post(f"/api/v1/requests/{filed['reference']}/verify", json={"code": right})
    assert locked.status_code == 423
    assert client.post(f"/api/v1/requests/{filed['reference']}/resend").status_code == 202
    fresh = code_for(app, NEXALEARN, address)
    assert client.post(f"/api/v1/requests/{filed['reference']}/verify", json={"code": fresh}).status_code == 200
    reused = client.post(f"/api/v1/requests/{filed['reference']}/verify", json={"code": fresh})
    assert reused.status_code == 409 and "already confirmed" in reused.json()["detail"]


def test_an_expired_code_is_refused_and_the_request_stays_unverified(app: FastAPI, client: TestClient) -> None:
    address = email()
    filed = file(client, NESTPROS, "access", address)
    code = code_for(app, NESTPROS, address)
    with session_scope(make_session_factory(app.state.engine)) as session:
        challenge = session.merge(_challenge(app, filed["reference"]))
        challenge.expires_at = challenge.expires_at - timedelta(days=2)
    response = client.post(f"/api/v1/requests/{filed['reference']}/verify", json={"code": code})
    assert response.status_code == 410 and "expired" in response.json()["detail"]
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        status = session.execute(
            select(RightsRequest.status).where(RightsRequest.reference == filed["reference"])
        ).scalar_one()
    assert status == "received"


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"controller": "nobody", "type": "access"}, 404, "nobody"),
        ({"controller": NEXALEARN, "type": "teleportation"}, 422, "teleportation"),
        ({"controller": NEXALEARN, "type": "access", "language": "de"}, 422, "language"),
        ({"controller": NEXALEARN, "type": "access", "email": "not-an-address"}, 422, "email"),
        ({"controller": NEXALEARN, "type": "access", "phone": "+4791234567"}, 422, "SMS"),
    ],
)
def test_bad_filings_are_problems_that_change_nothing(
    app: FastAPI, client: TestClient, body: dict[str, str], status: int, names: str
) -> None:
    body = {"email": email(), **body} if "phone" not in body else body
    before = _count(app)
    response = client.post("/api/v1/requests", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json" and names in response.json()["detail"]
    assert _count(app) == before


def test_a_right_the_controller_does_not_offer_is_refused(engine: object, settings: object, nestpros: object) -> None:
    from dataright.declarations.registry import DeclarationRegistry
    from dataright.declarations.schema import Declaration, Right
    from dataright.web.app import create_app

    assert isinstance(nestpros, Declaration)
    data = nestpros.model_dump()
    data["rights"]["rights"] = [Right.access, Right.rectification]  # the rights block of organisation.yaml
    narrowed = Declaration.model_validate(data)
    app = create_app(settings, DeclarationRegistry([narrowed]))  # type: ignore[arg-type]
    with TestClient(app) as client:
        response = client.post("/api/v1/requests", json={"controller": NESTPROS, "type": "erasure", "email": email()})
    assert response.status_code == 422
    assert "does not offer the right 'erasure'" in response.json()["detail"]
    assert "access, rectification" in response.json()["detail"]


def test_a_flood_from_one_address_is_stopped_with_429(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(2))
    before = _count(app)
    statuses = [
        client.post("/api/v1/requests", json={"controller": NEXALEARN, "type": "access", "email": email()}).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 429, 429]
    assert _count(app) == before + 2


def test_a_guardian_files_for_a_linked_child(app: FastAPI, client: TestClient, make_key: MakeKey) -> None:
    parent, child = email(), email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        guardian = identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": parent})
        kid = identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": child})
        identity.link_guardian(
            session, controller_id=NEXALEARN, guardian_id=guardian.id, child_id=kid.id, method="staff_check"
        )
        kid_id = kid.id
    filed = file_and_verify(app, client, NEXALEARN, "access", parent, on_behalf_of={"email": child})
    key = make_key(scopes=["requests:read"], controllers=[NEXALEARN])
    body = client.get(
        f"/api/v1/requests/{filed['reference']}", params={"controller": NEXALEARN}, headers=staff(key)
    ).json()
    assert body["status"] == "verified" and body["filed_by"] == "guardian" and body["subject_id"] == str(kid_id)


def test_someone_who_is_not_the_childs_guardian_is_denied_as_not_verified(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    stranger, child = email(), email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": child})
    filed = file_and_verify(app, client, NEXALEARN, "erasure", stranger, on_behalf_of={"email": child})
    key = make_key(scopes=["requests:read"], controllers=[NEXALEARN])
    body = client.get(
        f"/api/v1/requests/{filed['reference']}", params={"controller": NEXALEARN}, headers=staff(key)
    ).json()
    assert body["status"] == "denied" and body["denial_reason"] == "identity_not_verified"
    assert body["subject_id"] is None
    denied = mails(app, NEXALEARN, stranger, "request_denied")
    assert len(denied) == 1 and "Datatilsynet" in denied[0].text


class RecordingSms:
    """The operator's SMS gateway as seen from dataright: whatever it is asked to send, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, *, to: str, text: str) -> None:
        self.sent.append((to, text))


def test_a_phone_identity_gets_its_code_through_the_configured_sms_sender(app: FastAPI, client: TestClient) -> None:
    sms = RecordingSms()
    app.state.sms_sender = sms
    response = client.post(
        "/api/v1/requests", json={"controller": NEXALEARN, "type": "access", "phone": "+47 912 34 567"}
    )
    assert response.status_code == 202, response.text
    reference = response.json()["reference"]
    assert len(sms.sent) == 1 and sms.sent[0][0] == "+4791234567" and reference in sms.sent[0][1]
    code = CODE.search(sms.sent[0][1])
    assert code is not None
    verified = client.post(f"/api/v1/requests/{reference}/verify", json={"code": code.group(1)})
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
