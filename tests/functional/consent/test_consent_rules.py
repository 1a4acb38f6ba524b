"""The rules enforced on the ledger: age and guardians, GPC, expiry, objections, Do Not Call."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from consent_helpers import NESTIT, NESTPROS, NEXALEARN, new_subject
from sqlalchemy.orm import Session

from dataright.consent import service
from dataright.consent.dnc import FileDncRegistry
from dataright.consent.models import ConsentEvent
from dataright.consent.rules import Decision, EventKind, Method, Reason
from dataright.consent.targets import Target
from dataright.declarations.schema import Declaration, LegalBasis
from dataright.errors import Conflict, PermissionDenied
from dataright.identity import service as identity
from dataright.identity.ages import latest_birth_date
from dataright.storage.types import utcnow

ANALYTICS = Target.purpose("analytics")
ADS = Target.purpose("targeted-advertising")


def _years_ago(years: int) -> date:
    """A birth date a day more than ``years`` ago (any day of the year, 29 February included)."""
    return latest_birth_date(years, date.today()) - timedelta(days=1)


def _record(session: Session, declaration: Declaration, controller_id: str, **fields: object) -> ConsentEvent:
    fields.setdefault("kind", EventKind.given)
    fields.setdefault("method", Method.web_form)
    fields.setdefault("actor", "test")
    return service.record(session, declaration=declaration, controller_id=controller_id, **fields)  # type: ignore[arg-type]


def _check(
    session: Session, declaration: Declaration, controller_id: str, target: Target, **fields: object
) -> Decision:
    return service.check(session, declaration=declaration, controller_id=controller_id, target=target, **fields)  # type: ignore[arg-type]


# -- age and guardians ------------------------------------------------------------------------------
def test_a_child_below_nexalearns_age_of_16_cannot_consent_alone(session: Session, nexalearn: Declaration) -> None:
    child = new_subject(session, NEXALEARN, birth_date=_years_ago(15))
    event = _record(session, nexalearn, NEXALEARN, target=ANALYTICS, subject_id=child.id)
    assert (event.kind, event.reason) == ("refused", "below_consent_age")
    decision = _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=child.id)
    assert (decision.allowed, decision.reason, decision.event_id) == (False, Reason.consent_refused, event.id)


def test_a_16_year_old_consents_alone(session: Session, nexalearn: Declaration) -> None:
    teen = new_subject(session, NEXALEARN, birth_date=_years_ago(16))
    event = _record(session, nexalearn, NEXALEARN, target=ANALYTICS, subject_id=teen.id)
    assert event.kind == "given"


def test_a_linked_guardian_consents_for_the_child(session: Session, nexalearn: Declaration) -> None:
    child = new_subject(session, NEXALEARN, birth_date=_years_ago(10))
    parent = new_subject(session, NEXALEARN, birth_date=_years_ago(40))
    identity.link_guardian(session, controller_id=NEXALEARN, guardian_id=parent.id, child_id=child.id, method="bankid")
    event = _record(
        session,
        nexalearn,
        NEXALEARN,
        target=ANALYTICS,
        subject_id=child.id,
        method=Method.guardian,
        guardian_id=parent.id,
    )
    assert event.kind == "given"
    assert event.receipt["actingGuardianId"] == f"s:{parent.id}"
    assert _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=child.id).allowed


def test_a_guardian_who_is_not_linked_is_refused(session: Session, nexalearn: Declaration) -> None:
    child = new_subject(session, NEXALEARN, birth_date=_years_ago(10))
    stranger = new_subject(session, NEXALEARN, birth_date=_years_ago(40))
    event = _record(
        session,
        nexalearn,
        NEXALEARN,
        target=ANALYTICS,
        subject_id=child.id,
        method=Method.guardian,
        guardian_id=stranger.id,
    )
    assert (event.kind, event.reason) == ("refused", "guardian_not_linked")
    with pytest.raises(PermissionDenied, match="not a linked guardian"):
        _record(
            session,
            nexalearn,
            NEXALEARN,
            target=ANALYTICS,
            subject_id=child.id,
            kind=EventKind.withdrawn,
            method=Method.guardian,
            guardian_id=stranger.id,
        )


def test_a_childs_own_click_does_not_undo_the_guardians_consent(session: Session, nexalearn: Declaration) -> None:
    child = new_subject(session, NEXALEARN, birth_date=_years_ago(12))
    parent = new_subject(session, NEXALEARN)
    identity.link_guardian(session, controller_id=NEXALEARN, guardian_id=parent.id, child_id=child.id, method="bankid")
    by_guardian = _record(
        session,
        nexalearn,
        NEXALEARN,
        target=ANALYTICS,
        subject_id=child.id,
        method=Method.guardian,
        guardian_id=parent.id,
    )
    attempt = _record(session, nexalearn, NEXALEARN, target=ANALYTICS, subject_id=child.id)
    assert attempt.kind == "refused"
    decision = _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=child.id)
    assert (decision.allowed, decision.event_id) == (True, by_guardian.id)


def test_a_child_may_withdraw_on_their_own(session: Session, nexalearn: Declaration) -> None:
    child = new_subject(session, NEXALEARN, birth_date=_years_ago(12))
    parent = new_subject(session, NEXALEARN)
    identity.link_guardian(session, controller_id=NEXALEARN, guardian_id=parent.id, child_id=child.id, method="bankid")
    _record(
        session,
        nexalearn,
        NEXALEARN,
        target=ANALYTICS,
        subject_id=child.id,
        method=Method.guardian,
        guardian_id=parent.id,
    )
    _record(session, nexalearn, NEXALEARN, target=ANALYTICS, subject_id=child.id, kind=EventKind.withdrawn)
    assert _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=child.id).reason is Reason.consent_withdrawn


def test_nestpros_refuses_consent_under_18(session: Session, nestpros: Declaration) -> None:
    minor = new_subject(session, NESTPROS, birth_date=_years_ago(17))
    event = _record(session, nestpros, NESTPROS, target=Target.topic("promotions", "email"), subject_id=minor.id)
    assert (event.kind, event.reason) == ("refused", "below_consent_age")


# -- GPC ------------------------------------------------------------------------------------------
def test_gpc_on_a_check_beats_an_earlier_opt_in_and_records_nothing(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    given = _record(session, nexalearn, NEXALEARN, target=ADS, subject_id=subject.id)
    assert _check(session, nexalearn, NEXALEARN, ADS, subject_id=subject.id).allowed
    with_gpc = _check(session, nexalearn, NEXALEARN, ADS, subject_id=subject.id, gpc=True)
    assert (with_gpc.allowed, with_gpc.reason, with_gpc.event_id) == (False, Reason.gpc_opt_out, None)
    without = _check(session, nexalearn, NEXALEARN, ADS, subject_id=subject.id)
    assert (without.allowed, without.reason, without.event_id) == (True, Reason.consent_given, given.id)
    assert [e.kind for e in service.history(session, controller_id=NEXALEARN, subject_id=subject.id)] == ["given"]


def test_a_recorded_gpc_opt_out_keeps_refusing_without_the_signal(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    _record(session, nexalearn, NEXALEARN, target=ADS, subject_id=subject.id)
    recorded = service.record_gpc(
        session, declaration=nexalearn, controller_id=NEXALEARN, actor="test", subject_id=subject.id
    )
    by_target = {e.target: e.id for e in recorded}
    later = _check(session, nexalearn, NEXALEARN, ADS, subject_id=subject.id)
    assert (later.allowed, later.reason, later.event_id) == (False, Reason.gpc_opt_out, by_target[ADS.code])
    kinds = [e.kind for e in service.history(session, controller_id=NEXALEARN, subject_id=subject.id)]
    assert kinds == ["given", "gpc_opt_out", "gpc_opt_out"]  # the purpose and the targeting cookie category


def test_an_opt_in_sent_with_gpc_is_recorded_as_an_opt_out(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    event = _record(session, nexalearn, NEXALEARN, target=ADS, subject_id=subject.id, gpc=True)
    assert (event.kind, event.reason) == ("gpc_opt_out", "gpc_signal")


def test_gpc_leaves_purposes_it_does_not_cover_alone(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    _record(session, nexalearn, NEXALEARN, target=ANALYTICS, subject_id=subject.id, gpc=True)
    assert _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=subject.id, gpc=True).allowed


def test_gpc_is_recorded_once(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    for _ in range(3):
        service.record_gpc(session, declaration=nexalearn, controller_id=NEXALEARN, actor="test", subject_id=subject.id)
    assert len(service.history(session, controller_id=NEXALEARN, subject_id=subject.id)) == 2


# -- expiry ---------------------------------------------------------------------------------------
def test_consent_expires_after_its_declared_lifetime(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    old = _record(
        session,
        nexalearn,
        NEXALEARN,
        target=ANALYTICS,
        subject_id=subject.id,
        method=Method.import_,
        occurred_at=utcnow() - timedelta(days=400),
    )
    decision = _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=subject.id)
    assert (decision.allowed, decision.reason, decision.event_id) == (False, Reason.consent_expired, old.id)
    fresh = new_subject(session, NEXALEARN)
    _record(
        session, nexalearn, NEXALEARN, target=ANALYTICS, subject_id=fresh.id, occurred_at=utcnow() - timedelta(days=300)
    )
    assert _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=fresh.id).allowed


def test_the_expiry_sweep_writes_expired_events_into_the_history(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    _record(
        session,
        nexalearn,
        NEXALEARN,
        target=ANALYTICS,
        subject_id=subject.id,
        occurred_at=utcnow() - timedelta(days=400),
    )
    assert service.expire_due(session, declaration=nexalearn, controller_id=NEXALEARN) >= 1
    kinds = [e.kind for e in service.history(session, controller_id=NEXALEARN, subject_id=subject.id)]
    assert kinds == ["given", "expired"]
    assert _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=subject.id).reason is Reason.consent_expired
    assert service.expire_due(session, declaration=nexalearn, controller_id=NEXALEARN) == 0


# -- other bases and objections -------------------------------------------------------------------
def test_an_objection_stops_a_legitimate_interest_purpose(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    target = Target.purpose("personalisation")
    assert _check(session, nexalearn, NEXALEARN, target, subject_id=subject.id) == Decision(
        True, LegalBasis.legitimate_interests, Reason.basis_applies
    )
    objection = _record(session, nexalearn, NEXALEARN, target=target, subject_id=subject.id, kind=EventKind.objected)
    decision = _check(session, nexalearn, NEXALEARN, target, subject_id=subject.id)
    assert decision == Decision(False, LegalBasis.legitimate_interests, Reason.objection, objection.id)
    overruled = _record(
        session,
        nexalearn,
        NEXALEARN,
        target=target,
        subject_id=subject.id,
        kind=EventKind.objection_overruled,
        method=Method.api,
    )
    decision = _check(session, nexalearn, NEXALEARN, target, subject_id=subject.id)
    assert decision == Decision(True, LegalBasis.legitimate_interests, Reason.compelling_grounds, overruled.id)


def test_an_objection_to_direct_marketing_is_absolute(session: Session, nestit: Declaration) -> None:
    subject = new_subject(session, NESTIT)
    target = Target.purpose("brand-communication")
    _record(session, nestit, NESTIT, target=target, subject_id=subject.id, kind=EventKind.objected)
    assert _check(session, nestit, NESTIT, target, subject_id=subject.id).reason is Reason.objection_absolute
    with pytest.raises(Conflict, match="absolute"):
        _record(session, nestit, NESTIT, target=target, subject_id=subject.id, kind=EventKind.objection_overruled)
    topic = _check(session, nestit, NESTIT, Target.topic("brand-news", "email"), subject_id=subject.id)
    assert (topic.allowed, topic.reason) == (False, Reason.objection_absolute)


# -- Do Not Call ----------------------------------------------------------------------------------
@pytest.fixture
def dnc(tmp_path: Path) -> FileDncRegistry:
    path = tmp_path / "dnc.csv"
    path.write_text("number,register\n+65 9123 4567,sms\n+65 8765 4321,voice\n")
    return FileDncRegistry.from_file(path)


PROMO_SMS = Target.topic("promotions", "sms")


def test_an_unevidenced_consent_does_not_beat_the_dnc_register(
    session: Session, nestpros: Declaration, dnc: FileDncRegistry
) -> None:
    subject = new_subject(session, NESTPROS, phone="+65 9123 4567")
    _record(session, nestpros, NESTPROS, target=PROMO_SMS, subject_id=subject.id, method=Method.staff_phone)
    decision = _check(session, nestpros, NESTPROS, PROMO_SMS, subject_id=subject.id, dnc=dnc)
    assert (decision.allowed, decision.reason) == (False, Reason.dnc_registered)


def test_evidenced_consent_may_be_messaged_despite_the_register(
    session: Session, nestpros: Declaration, dnc: FileDncRegistry
) -> None:
    subject = new_subject(session, NESTPROS, phone="+6591234567")
    proof = service.Proof(text="Yes, send me promotions by SMS.", language="en")
    _record(session, nestpros, NESTPROS, target=PROMO_SMS, subject_id=subject.id, proof=proof)
    assert _check(session, nestpros, NESTPROS, PROMO_SMS, subject_id=subject.id, dnc=dnc).allowed


def test_numbers_not_on_the_register_and_e_mail_are_not_affected(
    session: Session, nestpros: Declaration, dnc: FileDncRegistry
) -> None:
    subject = new_subject(session, NESTPROS, phone="+65 8111 2222")
    _record(session, nestpros, NESTPROS, target=PROMO_SMS, subject_id=subject.id, method=Method.staff_phone)
    assert _check(session, nestpros, NESTPROS, PROMO_SMS, subject_id=subject.id, dnc=dnc).allowed
    registered = new_subject(session, NESTPROS, phone="+65 9123 4567")
    email = Target.topic("promotions", "email")
    _record(session, nestpros, NESTPROS, target=email, subject_id=registered.id, method=Method.staff_phone)
    assert _check(session, nestpros, NESTPROS, email, subject_id=registered.id, dnc=dnc).allowed


def test_the_number_about_to_be_messaged_can_be_named(
    session: Session, nestpros: Declaration, dnc: FileDncRegistry
) -> None:
    subject = new_subject(session, NESTPROS, phone="+65 8111 2222")
    _record(session, nestpros, NESTPROS, target=PROMO_SMS, subject_id=subject.id, method=Method.staff_phone)
    decision = _check(session, nestpros, NESTPROS, PROMO_SMS, subject_id=subject.id, dnc=dnc, phone="91234567")
    assert decision.reason is Reason.dnc_registered


def test_without_a_registry_singapore_sms_marketing_is_unchecked(session: Session, nestpros: Declaration) -> None:
    subject = new_subject(session, NESTPROS, phone="+65 8111 2222")
    _record(session, nestpros, NESTPROS, target=PROMO_SMS, subject_id=subject.id, method=Method.staff_phone)
    assert _check(session, nestpros, NESTPROS, PROMO_SMS, subject_id=subject.id).reason is Reason.dnc_unchecked


def test_checks_of_unknown_subjects_find_no_consent(session: Session, nexalearn: Declaration) -> None:
    decision = _check(session, nexalearn, NEXALEARN, ANALYTICS, subject_id=uuid.uuid4())
    assert decision.reason is Reason.no_consent
    with_gpc = _check(session, nexalearn, NEXALEARN, ADS, subject_id=uuid.uuid4(), gpc=True)
    assert (with_gpc.allowed, with_gpc.reason, with_gpc.event_id) == (False, Reason.gpc_opt_out, None)
