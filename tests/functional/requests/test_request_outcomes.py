"""What closing a request does beyond its state: a withdrawal or objection written to the consent ledger, the
expiry notice to a requester who never confirmed, and a denial's reason and note in the person's language."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_helpers import NEXALEARN, email, file, file_and_verify, mails, staff
from sqlalchemy.orm import Session

from dataright.config import Settings
from dataright.consent import service as consent
from dataright.consent.rules import Reason
from dataright.consent.targets import Target
from dataright.declarations.registry import DeclarationRegistry
from dataright.declarations.schema import Declaration
from dataright.identity import service as identity
from dataright.mail import service as mail
from dataright.mail.i18n import CATALOG
from dataright.mail.render import DENIAL_REASONS, render
from dataright.requests import api as requests_api
from dataright.requests import intake, service
from dataright.requests.intake import Filing
from dataright.requests.lifecycle import Channel, FiledBy
from dataright.storage.engine import make_session_factory, session_scope
from dataright.storage.types import utcnow
from dataright.web.dependencies import WindowLimiter
from fixtures.web import MakeKey


@pytest.fixture(autouse=True)
def roomy_limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))
    yield


def _subject_with_consent(app: FastAPI, declaration: Declaration, address: str, purposes: list[str]) -> str:
    with session_scope(make_session_factory(app.state.engine)) as session:
        subject = identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": address})
        for purpose in purposes:
            consent.record(
                session,
                declaration=declaration,
                controller_id=NEXALEARN,
                target=Target.purpose(purpose),
                kind="given",
                method="web_form",
                actor="test",
                subject_id=subject.id,
            )
        return str(subject.id)


def _decision(app: FastAPI, declaration: Declaration, subject_id: str, purpose: str) -> Reason:
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        return consent.check(
            session,
            declaration=declaration,
            controller_id=NEXALEARN,
            target=Target.purpose(purpose),
            subject_id=uuid.UUID(subject_id),
        ).reason


def _complete(client: TestClient, key: str, reference: str) -> None:
    done = client.post(f"/api/v1/requests/{reference}/complete", params={"controller": NEXALEARN}, headers=staff(key))
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text


def test_a_completed_withdrawal_of_consent_is_written_to_the_ledger_with_the_request_as_source(
    app: FastAPI, client: TestClient, make_key: MakeKey, registry: DeclarationRegistry
) -> None:
    declaration = registry.controller(NEXALEARN).declaration
    address = email()
    subject_id = _subject_with_consent(app, declaration, address, ["analytics", "targeted-advertising"])
    assert _decision(app, declaration, subject_id, "analytics") is Reason.consent_given
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "withdraw_consent", address, language="en")
    _complete(client, key, filed["reference"])
    for purpose in ("analytics", "targeted-advertising"):
        assert _decision(app, declaration, subject_id, purpose) is Reason.consent_withdrawn
    assert _decision(app, declaration, subject_id, "personalisation") is Reason.basis_applies  # not a consent
    history = client.post(
        "/api/v1/subjects/lookup",
        params={"controller": NEXALEARN},
        json={"email": address},
        headers=staff(make_key(scopes=["requests:read"], controllers=[NEXALEARN])),
    ).json()["consents"]
    withdrawn = [e for e in history if e["kind"] == "withdrawn"]
    assert {e["target"] for e in withdrawn} == {"purpose:analytics", "purpose:targeted-advertising"}
    assert {e["source"] for e in withdrawn} == {f"request:{filed['reference']}"}
    assert {e["method"] for e in withdrawn} == {"web_form"}


def test_a_completed_objection_stops_legitimate_interests_and_leaves_consents_alone(
    app: FastAPI, client: TestClient, make_key: MakeKey, registry: DeclarationRegistry
) -> None:
    declaration = registry.controller(NEXALEARN).declaration
    address = email()
    subject_id = _subject_with_consent(app, declaration, address, ["analytics"])
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "objection", address, language="en")
    _complete(client, key, filed["reference"])
    assert _decision(app, declaration, subject_id, "personalisation") is Reason.objection
    assert _decision(app, declaration, subject_id, "analytics") is Reason.consent_given
    again = file_and_verify(app, client, NEXALEARN, "objection", address, language="en")
    _complete(client, key, again["reference"])  # nothing left to object to: nothing recorded twice
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        events = consent.history(session, controller_id=NEXALEARN, subject_id=uuid.UUID(subject_id))
    objected = [e for e in events if e.kind == "objected" and e.target == "purpose:personalisation"]
    assert [e.source for e in objected] == [f"request:{filed['reference']}"]


def test_a_request_never_confirmed_expires_and_the_requester_is_told_in_their_language(
    session: Session, settings: Settings, registry: DeclarationRegistry
) -> None:
    declaration = registry.controller(NEXALEARN).declaration
    address = email()
    request = intake.file_request(
        session,
        declaration=declaration,
        filing=Filing(
            controller_id=NEXALEARN,
            type="erasure",
            identifier_kind="email",
            identifier=address,
            channel=Channel.web,
            filed_by=FiledBy.subject,
            actor="test",
            language="nb",
        ),
        base_url="http://testserver",
        sms_sender=None,
        now=utcnow() - timedelta(days=40),
    )
    expired = service.expire_unverified(
        session, controller_ids=[NEXALEARN], declaration_of=lambda c: registry.controller(c).declaration
    )
    assert expired >= 1 and request.status == "expired"
    rows = mail.sent_to(session, controller_id=NEXALEARN, address=address)
    (notice,) = [r for r in rows if r.template == "request_expired"]
    assert notice.language == "nb"


def test_the_expiry_notice_renders_in_every_language() -> None:
    context = {
        "controller_name": "NexaLearn AS",
        "request_reference": "R-1",
        "request_type": "erasure",
        "received_on": "2026-11-02",
    }
    assert "It was never confirmed" in render("request_expired", "en", context).text
    nb = render("request_expired", "nb", context)
    assert "aldri bekreftet" in nb.text and "2. november 2026" in nb.text and "er utløpt" in nb.subject
    assert "bekräftades aldrig" in render("request_expired", "sv", context).text


def test_a_denial_tells_the_translated_reason_and_the_staff_note(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file(client, NEXALEARN, "access", address, language="nb")
    denied = client.post(
        f"/api/v1/requests/{filed['reference']}/deny",
        params={"controller": NEXALEARN},
        json={"reason": "identity_not_verified", "note": "NOTE-TO-PERSON: the code was never entered."},
        headers=staff(key),
    )
    assert denied.status_code == 200, denied.text
    (mail_sent,) = mails(app, NEXALEARN, address, "request_denied")
    assert CATALOG.gettext("nb", DENIAL_REASONS["identity_not_verified"]) in mail_sent.text
    assert "NOTE-TO-PERSON: the code was never entered." in mail_sent.text
