"""A child below the controller's consent age with no linked guardian is refused for every purpose the
declaration marks ``guardian_consent``, whatever its legal basis: by ``service.check``, by the HTTP check
(single and batch, which never write) and when a consent is recorded."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from consent_helpers import NESTPROS, NEXALEARN, email, new_subject
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.consent import service
from dataright.consent.models import ConsentEvent, ConsentState
from dataright.consent.rules import Decision, EventKind, Method, Reason
from dataright.consent.targets import Target
from dataright.declarations.schema import Declaration, LegalBasis
from dataright.identity import service as identity
from fixtures.web import MakeKey

COURSE = Target.purpose("course-provision")  # Nestpros: contract, guardian_consent
PAYMENT = Target.purpose("payment")  # Nestpros: contract, no guardian needed
UPDATES = Target.topic("course-updates", "email")  # Nestpros: deemed consent, guardian_consent


def _years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years) - timedelta(days=1)


def _check(session: Session, declaration: Declaration, controller: str, target: Target, subject: uuid.UUID) -> Decision:
    return service.check(session, declaration=declaration, controller_id=controller, target=target, subject_id=subject)


def test_a_child_without_a_guardian_is_refused_for_every_purpose_that_needs_one(
    session: Session, nestpros: Declaration
) -> None:
    child = new_subject(session, NESTPROS, birth_date=_years_ago(14))
    guardian_purposes = [p.id for p in nestpros.purposes_of(NESTPROS) if p.guardian_consent]
    assert {"course-provision", "account-management", "support", "legal-compliance"} <= set(guardian_purposes)
    for purpose_id in guardian_purposes:
        decision = _check(session, nestpros, NESTPROS, Target.purpose(purpose_id), child.id)
        assert (decision.allowed, decision.reason) == (False, Reason.guardian_required), purpose_id
    assert _check(session, nestpros, NESTPROS, UPDATES, child.id).reason is Reason.guardian_required
    # a purpose the declaration does not mark keeps what its basis says
    assert _check(session, nestpros, NESTPROS, PAYMENT, child.id) == Decision(
        True, LegalBasis.contract, Reason.basis_applies
    )


def test_a_linked_guardian_lets_the_purpose_run_and_unlinking_stops_it(session: Session, nestpros: Declaration) -> None:
    child = new_subject(session, NESTPROS, birth_date=_years_ago(14))
    parent = new_subject(session, NESTPROS, birth_date=_years_ago(44))
    identity.link_guardian(
        session, controller_id=NESTPROS, guardian_id=parent.id, child_id=child.id, method="staff_check"
    )
    assert _check(session, nestpros, NESTPROS, COURSE, child.id) == Decision(
        True, LegalBasis.contract, Reason.basis_applies
    )
    identity.unlink_guardian(session, guardian_id=parent.id, child_id=child.id)
    assert _check(session, nestpros, NESTPROS, COURSE, child.id).reason is Reason.guardian_required


def test_adults_and_people_of_unknown_age_are_not_asked_for_a_guardian(
    session: Session, nestpros: Declaration, nexalearn: Declaration
) -> None:
    for born in (_years_ago(18), None):
        person = new_subject(session, NESTPROS, birth_date=born)
        assert _check(session, nestpros, NESTPROS, COURSE, person.id).allowed
    teen = new_subject(session, NEXALEARN, birth_date=_years_ago(16))  # NexaLearn's consent age is 16
    assert _check(session, nexalearn, NEXALEARN, Target.purpose("teaching"), teen.id).allowed
    child = new_subject(session, NEXALEARN, birth_date=_years_ago(15))
    assert (
        _check(session, nexalearn, NEXALEARN, Target.purpose("teaching"), child.id).reason is Reason.guardian_required
    )


def test_at_recording_a_childs_own_consent_is_refused_and_a_linked_guardians_counts(
    session: Session, nestpros: Declaration
) -> None:
    child = new_subject(session, NESTPROS, birth_date=_years_ago(12))
    fields: dict[str, Any] = {"declaration": nestpros, "controller_id": NESTPROS, "target": UPDATES, "actor": "test"}
    own = service.record(session, **fields, kind=EventKind.given, method=Method.web_form, subject_id=child.id)
    assert (own.kind, own.reason) == ("refused", "below_consent_age")
    assert not _check(session, nestpros, NESTPROS, UPDATES, child.id).allowed
    stranger = new_subject(session, NESTPROS, birth_date=_years_ago(40))
    unlinked = service.record(
        session, **fields, kind=EventKind.given, method=Method.guardian, subject_id=child.id, guardian_id=stranger.id
    )
    assert (unlinked.kind, unlinked.reason) == ("refused", "guardian_not_linked")
    identity.link_guardian(
        session, controller_id=NESTPROS, guardian_id=stranger.id, child_id=child.id, method="id_check"
    )
    by_guardian = service.record(
        session, **fields, kind=EventKind.given, method=Method.guardian, subject_id=child.id, guardian_id=stranger.id
    )
    assert by_guardian.kind == "given"
    assert _check(session, nestpros, NESTPROS, UPDATES, child.id) == Decision(
        True, LegalBasis.deemed_consent, Reason.basis_applies, by_guardian.id
    )


# -- over HTTP: the check route, single and batch, answers so and writes nothing ----------------------
@pytest.fixture
def writer(make_key: MakeKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(scopes=['consent:write'], controllers=[NEXALEARN])}"}


def _recorded(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count(), func.max(ConsentEvent.id))).one(),
            connection.execute(select(func.count(), func.max(AuditEntry.id))).one(),
            connection.execute(select(func.count()).select_from(ConsentState)).scalar_one(),
        )


def test_the_check_route_refuses_a_child_without_a_guardian_and_writes_nothing(
    app: FastAPI, client: TestClient, writer: dict[str, str]
) -> None:
    body = {"subject": {"email": email(), "birth_date": _years_ago(12).isoformat()}, "purpose": "analytics"}
    created = client.post(
        f"/api/v1/consent/events?controller={NEXALEARN}", json={**body, "kind": "given"}, headers=writer
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "refused"
    child = created.json()["subject_id"]
    before = _recorded(app.state.engine)
    for purpose in ("teaching", "customer-relationship", "personalisation", "security"):
        answer = client.get(
            f"/api/v1/consent/check?controller={NEXALEARN}&subject_id={child}&purpose={purpose}", headers=writer
        )
        assert answer.status_code == 200, answer.text
        assert (answer.json()["allowed"], answer.json()["reason"]) == (False, "guardian_required"), purpose
    payment = client.get(
        f"/api/v1/consent/check?controller={NEXALEARN}&subject_id={child}&purpose=payment", headers=writer
    )
    assert payment.json()["reason"] == "basis_applies"
    batch = client.post(
        f"/api/v1/consent/check/batch?controller={NEXALEARN}",
        json={
            "items": [
                {"subject_id": child, "purpose": "teaching"},
                {"email": body["subject"]["email"], "purpose": "teaching"},
            ]
        },  # type: ignore[index]
        headers=writer,
    )
    assert batch.status_code == 200, batch.text
    assert [r["reason"] for r in batch.json()["results"]] == ["guardian_required", "guardian_required"]
    assert _recorded(app.state.engine) == before
