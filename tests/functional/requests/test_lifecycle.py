"""The staff side over HTTP: the lifecycle, joint controllers, extensions, denials, erasure with legal holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_helpers import NESTIT, NESTPROS, NEXALEARN, PROVENDO, email, file, file_and_verify, mails, staff
from sqlalchemy import select

from dataright.audit.models import AuditEntry
from dataright.consent.imports import ImportResult, ImportRow, import_rows
from dataright.consent.rules import EventKind
from dataright.consent.service import Proof
from dataright.consent.targets import Target
from dataright.declarations.registry import DeclarationRegistry
from dataright.identity import service as identity
from dataright.requests import api as requests_api
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.dependencies import WindowLimiter
from fixtures.web import MakeKey


@pytest.fixture(autouse=True)
def roomy_limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))
    yield


def _post(client: TestClient, key: str, controller: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(
        f"/api/v1/requests/{path}", params={"controller": controller}, json=body or {}, headers=staff(key)
    )


def _show(client: TestClient, key: str, controller: str, reference: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/requests/{reference}", params={"controller": controller}, headers=staff(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_illegal_transition_is_refused_naming_the_allowed_ones(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file(client, NEXALEARN, "access", email())
    response = _post(client, key, NEXALEARN, f"{filed['reference']}/start")
    assert response.status_code == 409 and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["current"] == "received"
    assert problem["allowed"] == ["verified", "denied", "withdrawn", "expired"]
    assert "allowed: verified, denied, withdrawn, expired" in problem["detail"]
    assert _show(client, key, NEXALEARN, filed["reference"])["status"] == "received"


def test_a_denial_for_failed_verification_names_the_authority(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NESTIT])
    address = email()
    filed = file(client, NESTIT, "access", address, language="sv")
    response = _post(client, key, NESTIT, f"{filed['reference']}/deny", {"reason": "identity_not_verified"})
    assert response.status_code == 200 and response.json()["status"] == "denied"
    denied = mails(app, NESTIT, address, "request_denied")
    assert len(denied) == 1 and denied[0].language == "sv" and "Integritetsskyddsmyndigheten" in denied[0].text
    assert "https://www.imy.se" in denied[0].text
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        entry = (
            session.execute(
                select(AuditEntry).where(AuditEntry.action == "request.denied").order_by(AuditEntry.id.desc())
            )
            .scalars()
            .first()
        )
    assert entry is not None and entry.actor.startswith("key:") and address not in str(entry.details)


def test_a_fee_only_for_unfounded_or_excessive_requests(app: FastAPI, client: TestClient, make_key: MakeKey) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "access", email())
    wrong = _post(client, key, NEXALEARN, f"{filed['reference']}/deny", {"reason": "legal_exemption", "fee": "NOK 200"})
    assert wrong.status_code == 422 and "fee" in wrong.json()["detail"]
    charged = _post(client, key, NEXALEARN, f"{filed['reference']}/deny", {"reason": "excessive", "fee": "NOK 200"})
    assert charged.status_code == 200 and charged.json()["fee"] == "NOK 200"


def test_an_extension_notice_goes_out_before_the_first_deadline_where_the_notice_offers_one(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NESTIT])
    address = email()
    filed = file_and_verify(app, client, NESTIT, "access", address, language="en")
    first = _show(client, key, NESTIT, filed["reference"])
    blank = _post(client, key, NESTIT, f"{filed['reference']}/extend", {"reason": " "})
    assert blank.status_code == 422
    response = _post(client, key, NESTIT, f"{filed['reference']}/extend", {"reason": "Data in several systems"})
    assert response.status_code == 200, response.text
    extended = response.json()
    assert extended["due_on"] > first["due_on"] and extended["extension_reason"] == "Data in several systems"
    assert date.fromisoformat(extended["due_on"]) <= date.fromisoformat(first["statutory_due_on"]) + timedelta(days=62)
    notice = mails(app, NESTIT, address, "request_extended")
    assert len(notice) == 1 and "Data in several systems" in notice[0].text
    assert notice[0].created_at.date() <= date.fromisoformat(first["due_on"])
    again = _post(client, key, NESTIT, f"{filed['reference']}/extend", {"reason": "more"})
    assert again.status_code == 409 and "extended already" in again.json()["detail"]


def test_nexalearn_cannot_extend_because_its_notice_promises_an_answer_within_30_days_at_the_latest(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "access", email(), language="en")

    refused = _post(client, key, NEXALEARN, f"{filed['reference']}/extend", {"reason": "Data in several systems"})

    assert refused.status_code == 422 and "offers none" in refused.json()["detail"]
    assert _show(client, key, NEXALEARN, filed["reference"])["extended_at"] is None


def test_a_nestpros_request_runs_on_the_30_day_clock_and_a_refusal_keeps_a_copy(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    key = make_key(scopes=["requests:write"], controllers=[NESTPROS])
    filed = file_and_verify(app, client, NESTPROS, "access", email())
    shown = _show(client, key, NESTPROS, filed["reference"])
    received = date.fromisoformat(shown["received_on"])
    assert date.fromisoformat(shown["statutory_due_on"]) >= received + timedelta(days=30)
    assert date.fromisoformat(shown["due_on"]) <= date.fromisoformat(shown["statutory_due_on"])
    no_date = _post(client, key, NESTPROS, f"{filed['reference']}/extend", {"reason": "complex"})
    assert no_date.status_code == 422 and "until" in no_date.json()["detail"]
    denied = _post(client, key, NESTPROS, f"{filed['reference']}/deny", {"reason": "legal_exemption"})
    assert denied.status_code == 200, denied.text
    assert date.fromisoformat(denied.json()["copy_kept_until"]) >= date.today() + timedelta(days=30)


def test_a_joint_request_at_nestit_is_seen_and_fulfilled_by_both_companies_and_keeps_both_books(
    app: FastAPI, client: TestClient, make_key: MakeKey, registry: DeclarationRegistry
) -> None:
    address = email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NESTIT, identifiers={"email": address})
        identity.get_or_create_subject(session, controller_id=PROVENDO, identifiers={"email": address})
    group = make_key(scopes=["requests:write"], controllers=[NESTIT])
    provendo = make_key(scopes=["requests:write"], controllers=[PROVENDO])
    filed = file_and_verify(app, client, NESTIT, "erasure", address, language="en")
    again = file(client, PROVENDO, "erasure", address)  # the same person asks the other company too
    assert again["reference"] == filed["reference"]
    seen = client.get("/api/v1/requests", params={"controller": PROVENDO, "status": "open"}, headers=staff(provendo))
    assert filed["reference"] in [r["reference"] for r in seen.json()["requests"]]
    shown = _show(client, provendo, PROVENDO, filed["reference"])
    assert shown["parties"] == [NESTIT, PROVENDO] and shown["receipts"] == 2
    started = _post(client, group, NESTIT, f"{filed['reference']}/start").json()
    owners = {t["controller_id"] for t in started["tasks"]}
    assert owners == {NESTIT, PROVENDO} and all(t["kind"] == "notify_recipient" for t in started["tasks"])
    early = _post(client, group, NESTIT, f"{filed['reference']}/complete")
    assert early.status_code == 409 and "open task(s)" in early.json()["detail"]
    for task in started["tasks"]:
        key, controller = (group, NESTIT) if task["controller_id"] == NESTIT else (provendo, PROVENDO)
        if task["controller_id"] == PROVENDO:
            other = _post(client, group, NESTIT, f"{filed['reference']}/tasks/{task['id']}/done")
            assert other.status_code == 404  # a company ticks off its own tasks only
        assert _post(client, key, controller, f"{filed['reference']}/tasks/{task['id']}/done").status_code == 200
    done = _post(client, provendo, PROVENDO, f"{filed['reference']}/complete")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    reply = mails(app, NESTIT, address, "request_completed")
    assert len(reply) == 1
    assert "bokföringslagen (1999:1078) 7 kap. 2 §" in reply[0].text and "bokføringsloven § 13" in reply[0].text
    year = date.today().year
    assert str(year + 7) in reply[0].text and str(year + 5) in reply[0].text
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        for controller in (NESTIT, PROVENDO):
            assert identity.find_subject(session, controller_id=controller, kind="email", value=address) is None
            assert identity.is_suppressed(session, controller_id=controller, identifiers={"email": address})


def test_a_nestit_account_deletion_goes_to_the_company_of_the_account(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=PROVENDO, identifiers={"email": address})
    filed = file(client, NESTIT, "erasure", address)
    key = make_key(scopes=["requests:read"], controllers=[PROVENDO])
    shown = _show(client, key, PROVENDO, filed["reference"])
    assert shown["controller_id"] == PROVENDO and shown["filed_with"] == NESTIT
    assert len(mails(app, PROVENDO, address, "request_verification")) == 1
    outside = client.post(
        "/api/v1/requests",
        json={"controller": NESTIT, "type": "erasure", "email": email(), "registered_with": "nexalearn"},
    )
    assert outside.status_code == 422 and "registered_with" in outside.json()["detail"]


def test_an_erasure_at_nexalearn_keeps_the_bookkeeping_hold_and_stops_re_imports(
    app: FastAPI, client: TestClient, make_key: MakeKey, registry: DeclarationRegistry
) -> None:
    address = email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": address})
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "erasure", address, language="en")
    started = _post(client, key, NEXALEARN, f"{filed['reference']}/start").json()
    assert {t["target"] for t in started["tasks"]} >= {"stripe", "scanditek", "intercom"}
    for task in started["tasks"]:
        _post(client, key, NEXALEARN, f"{filed['reference']}/tasks/{task['id']}/done", {"note": "sent"})
    assert _post(client, key, NEXALEARN, f"{filed['reference']}/complete").status_code == 200
    reply = mails(app, NEXALEARN, address, "request_completed")[0].text
    assert "bokføringsloven § 13" in reply and str(date.today().year + 5) in reply
    row = ImportRow(
        file="old.csv",
        line=2,
        identifiers={"email": address},
        birth_date=None,
        target=Target.purpose("analytics"),
        kind=EventKind.given,
        occurred_at=datetime(2024, 1, 1, tzinfo=UTC),
        notice_version=None,
        source=None,
        proof=Proof(),
        import_key=f"row-{address}",
    )
    result = ImportResult()
    with session_scope(make_session_factory(app.state.engine)) as session:
        import_rows(
            session,
            declaration=registry.controller(NEXALEARN).declaration,
            controller_id=NEXALEARN,
            rows=[row],
            actor="test",
            result=result,
        )
        assert identity.find_subject(session, controller_id=NEXALEARN, kind="email", value=address) is None
    assert (result.recorded, result.suppressed) == (0, 1)
