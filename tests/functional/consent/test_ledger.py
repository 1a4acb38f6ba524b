"""The consent ledger on a real database (SQLite and PostgreSQL): events, derived state, history."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from consent_helpers import NESTIT, NEXALEARN, new_subject
from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.audit.service import seal, verify
from dataright.config import Settings, use_settings
from dataright.consent import service
from dataright.consent.coverage import CONSENT_EVENTS, digest_of
from dataright.consent.models import ConsentEvent, ConsentState
from dataright.consent.rules import Decision, EventKind, Method, Reason
from dataright.consent.targets import Target
from dataright.declarations.schema import Declaration, LegalBasis
from dataright.errors import NotFound, ValidationFailed
from dataright.storage.types import utcnow

ANALYTICS = Target.purpose("analytics")


def _give(session: Session, declaration: Declaration, subject_id: uuid.UUID, **extra: object) -> ConsentEvent:
    fields: dict[str, object] = {
        "declaration": declaration,
        "controller_id": NEXALEARN,
        "target": ANALYTICS,
        "kind": EventKind.given,
        "method": Method.web_form,
        "actor": "test",
        "subject_id": subject_id,
        "proof": service.Proof(text="Ja, dere kan analysere bruken min.", language="nb"),
    }
    fields.update(extra)
    return service.record(session, **fields)  # type: ignore[arg-type]


def _check(session: Session, declaration: Declaration, subject_id: uuid.UUID, target: Target = ANALYTICS) -> Decision:
    return service.check(
        session, declaration=declaration, controller_id=NEXALEARN, target=target, subject_id=subject_id
    )


def test_a_given_consent_is_allowed_and_names_its_event(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    event = _give(session, nexalearn, subject.id)
    decision = _check(session, nexalearn, subject.id)
    assert decision.allowed
    assert decision.basis is LegalBasis.consent
    assert decision.reason is Reason.consent_given
    assert decision.event_id == event.id


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    """The SQL the session's connection sends inside the block."""
    seen: list[str] = []

    def keep(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    engine = session.connection().engine
    sa_event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "before_cursor_execute", keep)


def test_a_new_subjects_first_consent_reads_no_state_and_later_ones_still_follow_the_rules(
    session: Session, nexalearn: Declaration
) -> None:
    subject = new_subject(session, NEXALEARN)  # made in this transaction: it has no state in the database
    with _statements(session) as statements:
        given = _give(session, nexalearn, subject.id)
    assert statements, "the listener saw the event being written"
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT") and "consent_state" in s] == []
    withdrawn = _give(session, nexalearn, subject.id, kind=EventKind.withdrawn, method=Method.api)
    older = _give(session, nexalearn, subject.id, method=Method.import_, occurred_at=utcnow() - timedelta(days=3))
    states = session.execute(select(ConsentState).where(ConsentState.subject_id == subject.id)).scalars().all()
    assert [(s.status, s.event_id) for s in states] == [("withdrawn", withdrawn.id)]
    assert given.id < withdrawn.id < older.id
    assert _check(session, nexalearn, subject.id).event_id == withdrawn.id


def test_after_a_rolled_back_savepoint_the_state_is_read_again(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    _give(session, nexalearn, subject.id)
    with pytest.raises(ValidationFailed), session.begin_nested():
        _give(session, nexalearn, subject.id, kind=EventKind.withdrawn, method=Method.api)
        raise ValidationFailed("undo")
    again = _give(session, nexalearn, subject.id, kind=EventKind.withdrawn, method=Method.api)
    states = session.execute(select(ConsentState).where(ConsentState.subject_id == subject.id)).scalars().all()
    assert [(s.status, s.event_id) for s in states] == [("withdrawn", again.id)]


def test_no_event_means_no_consent(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    assert _check(session, nexalearn, subject.id).reason is Reason.no_consent


def test_a_withdrawal_is_a_new_event_effective_at_once(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    given = _give(session, nexalearn, subject.id)
    withdrawn = _give(session, nexalearn, subject.id, kind=EventKind.withdrawn, method=Method.api)
    decision = _check(session, nexalearn, subject.id)
    assert (decision.allowed, decision.reason, decision.event_id) == (False, Reason.consent_withdrawn, withdrawn.id)
    history = service.history(session, controller_id=NEXALEARN, subject_id=subject.id)
    assert [(e.id, e.kind) for e in history] == [(given.id, "given"), (withdrawn.id, "withdrawn")]


def test_the_state_is_one_row_per_holder_and_target_pointing_at_the_deciding_event(
    session: Session, nexalearn: Declaration
) -> None:
    subject = new_subject(session, NEXALEARN)
    _give(session, nexalearn, subject.id)
    last = _give(session, nexalearn, subject.id, kind=EventKind.withdrawn)
    states = session.execute(select(ConsentState).where(ConsentState.subject_id == subject.id)).scalars().all()
    assert [(s.target, s.status, s.event_id) for s in states] == [("purpose:analytics", "withdrawn", last.id)]


def test_an_older_imported_event_does_not_replace_a_newer_state(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    live = _give(session, nexalearn, subject.id, kind=EventKind.withdrawn)
    _give(session, nexalearn, subject.id, method=Method.import_, occurred_at=utcnow() - timedelta(days=30))
    decision = _check(session, nexalearn, subject.id)
    assert (decision.reason, decision.event_id) == (Reason.consent_withdrawn, live.id)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE consent_events SET kind = 'given'", "DELETE FROM consent_events", "TRUNCATE consent_events CASCADE"],
    ids=["update", "delete", "truncate"],
)
def test_the_database_refuses_to_rewrite_history(
    session: Session, nexalearn: Declaration, statement: str, backend: str
) -> None:
    if statement.startswith("TRUNCATE") and backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is the case above")
    subject = new_subject(session, NEXALEARN)
    _give(session, nexalearn, subject.id, kind=EventKind.withdrawn)
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert (
        session.execute(select(ConsentEvent.kind).where(ConsentEvent.subject_id == subject.id)).scalar() == "withdrawn"
    )


def test_each_event_is_audited_by_id_in_the_same_transaction(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    event = _give(session, nexalearn, subject.id)
    entry = session.execute(
        select(AuditEntry).where(AuditEntry.entity_type == "consent_event", AuditEntry.entity_id == str(event.id))
    ).scalar_one()
    assert entry.action == "consent.given"
    assert entry.controller_id == NEXALEARN
    assert entry.details == {
        "holder": f"s:{subject.id}",
        "target": "purpose:analytics",
        "method": "web_form",
        "reason": None,
        "sha256": digest_of(event),
    }
    seal(session)
    assert verify(session, [CONSENT_EVENTS]).ok


def test_every_event_yields_a_receipt_kept_with_the_history(session: Session, nexalearn: Declaration) -> None:
    address = f"kari.{uuid.uuid4().hex[:6]}@example.no"
    subject = new_subject(session, NEXALEARN, address=address)
    event = _give(session, nexalearn, subject.id)
    (stored,) = service.history(session, controller_id=NEXALEARN, subject_id=subject.id)
    receipt = stored.receipt
    assert receipt["consentReceiptID"] == str(event.receipt_id)
    assert receipt["piiPrincipalId"] == f"s:{subject.id}"
    assert receipt["eventType"] == "given"
    assert receipt["proof"]["textHash"] == event.text_hash
    assert len(event.text_hash or "") == 64
    assert address not in json.dumps(receipt)


def test_the_text_shown_is_kept_only_as_its_hash(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    event = _give(session, nexalearn, subject.id)
    row = session.execute(text("SELECT * FROM consent_events WHERE id = :id"), {"id": event.id}).one()
    assert "analysere" not in " ".join(str(v) for v in row)


@pytest.mark.parametrize(
    ("record_ip", "record_user_agent", "kept"),
    [
        (False, False, (None, None)),
        (True, False, ("192.0.2.1", None)),
        (False, True, (None, "Firefox")),
        (True, True, ("192.0.2.1", "Firefox")),
    ],
    ids=["neither", "ip-only", "user-agent-only", "both"],
)
def test_ip_and_user_agent_are_kept_only_when_the_settings_say_so(
    session: Session,
    nexalearn: Declaration,
    settings: Settings,
    record_ip: bool,
    record_user_agent: bool,
    kept: tuple[str | None, str | None],
) -> None:
    use_settings(settings.model_copy(update={"record_ip": record_ip, "record_user_agent": record_user_agent}))
    subject = new_subject(session, NEXALEARN)
    proof = service.Proof(text="x", ip_address="192.0.2.1", user_agent="Firefox")
    event = _give(session, nexalearn, subject.id, proof=proof)
    stored = session.execute(
        text("SELECT ip_address, user_agent FROM consent_events WHERE id = :id"), {"id": event.id}
    ).one()
    assert (event.ip_address, event.user_agent) == kept
    assert tuple(stored) == kept


def test_a_bad_proof_hash_is_refused(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    with pytest.raises(ValidationFailed, match=r"proof\.text_hash"):
        _give(session, nexalearn, subject.id, proof=service.Proof(text_hash="not-a-hash"))


def test_an_import_key_makes_recording_idempotent(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    first = _give(session, nexalearn, subject.id, import_key="crm-row-17", method=Method.import_)
    again = _give(session, nexalearn, subject.id, import_key="crm-row-17", method=Method.import_)
    assert again.id == first.id
    assert len(service.history(session, controller_id=NEXALEARN, subject_id=subject.id)) == 1


def test_a_subject_of_another_controller_is_not_found(session: Session, nexalearn: Declaration) -> None:
    stranger = new_subject(session, NESTIT)
    with pytest.raises(NotFound, match="does not exist for controller 'nexalearn'"):
        _give(session, nexalearn, stranger.id)
    with pytest.raises(NotFound):
        service.history(session, controller_id=NEXALEARN, subject_id=stranger.id)


def test_an_event_in_the_future_is_refused(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    with pytest.raises(ValidationFailed, match="future"):
        _give(session, nexalearn, subject.id, occurred_at=utcnow() + timedelta(days=1))


def test_consent_cannot_be_recorded_for_a_contract_purpose(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    with pytest.raises(ValidationFailed, match="rests on contract"):
        _give(session, nexalearn, subject.id, target=Target.purpose("teaching"))
    decision = _check(session, nexalearn, subject.id, Target.purpose("teaching"))
    assert (decision.allowed, decision.basis, decision.reason) == (True, LegalBasis.contract, Reason.basis_applies)


def test_a_check_sees_the_writes_of_its_own_transaction_only_after_they_happen(
    session: Session, nexalearn: Declaration
) -> None:
    subject = new_subject(session, NEXALEARN)
    assert not _check(session, nexalearn, subject.id).allowed
    _give(session, nexalearn, subject.id)
    assert _check(session, nexalearn, subject.id).allowed
