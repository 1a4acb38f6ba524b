"""Subjects, identifiers, guardians and devices on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.audit.service import verify
from dataright.config import Settings, use_settings
from dataright.errors import Conflict, NotFound, ValidationFailed
from dataright.identity import service as identity
from dataright.identity.crypto import DecryptionFailed, decrypt, encrypt
from dataright.identity.models import Subject
from dataright.storage.engine import make_session_factory, session_scope

C = "nexalearn"


def _email() -> str:
    return f"Kari.{uuid.uuid4().hex[:8]}@Example.NO"


def _audit_for(session: Session, entity_id: object) -> list[AuditEntry]:
    return list(
        session.execute(
            select(AuditEntry).where(AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.id)
        ).scalars()
    )


def test_a_subject_is_created_once_and_found_however_the_address_is_typed(session: Session) -> None:
    email = _email()
    subject = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email})
    again = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": f"  {email.upper()} "})
    assert again.id == subject.id
    assert identity.find_subject(session, controller_id=C, kind="email", value=email.lower()) is subject
    assert identity.find_subject(session, controller_id="other", kind="email", value=email) is None


def test_the_same_address_is_a_different_subject_at_another_controller(session: Session) -> None:
    email = _email()
    a = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email})
    b = identity.get_or_create_subject(session, controller_id="nestit-as", identifiers={"email": email})
    assert a.id != b.id


def test_the_subject_tables_hold_no_plain_identifiers(session: Session) -> None:
    email, phone, customer = _email(), "+47 912 34 567", f"CUST-{uuid.uuid4().hex[:6]}"
    subject = identity.get_or_create_subject(
        session, controller_id=C, identifiers={"email": email, "phone": phone, "customer_id": customer}
    )
    identity.get_or_create_device(session, C, "device-token-123456")
    session.flush()
    needles = [email.lower(), "kari.", "+4791234567", "91234567", customer, "device-token-123456"]
    for table in ("subjects", "subject_identifiers", "devices", "guardian_links", "audit_entries"):
        for row in session.execute(text(f"SELECT * FROM {table}")):
            raw = " ".join(
                value.hex() + " " + value.decode("latin-1") if isinstance(value, bytes) else str(value) for value in row
            ).lower()
            for needle in needles:
                assert needle.lower() not in raw, f"{needle!r} found in clear in {table}"
    assert identity.reveal(session, subject.id) == {
        "email": email.lower(),
        "phone": "+4791234567",
        "customer_id": customer,
    }


def test_new_identifiers_are_added_to_the_subject_found_by_another(session: Session) -> None:
    email = _email()
    subject = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email})
    same = identity.get_or_create_subject(
        session, controller_id=C, identifiers={"email": email, "phone": "+4791234567"}
    )
    assert same.id == subject.id
    assert identity.find_subject(session, controller_id=C, kind="phone", value="+47 91234567") is subject
    actions = [e.action for e in _audit_for(session, subject.id)]
    assert actions == ["subject.created", "subject.updated"]


def test_identifiers_of_two_different_subjects_are_a_conflict(session: Session) -> None:
    a, customer_of_b = _email(), f"CUST-{uuid.uuid4().hex[:6]}"
    identity.get_or_create_subject(session, controller_id=C, identifiers={"email": a})
    identity.get_or_create_subject(session, controller_id=C, identifiers={"customer_id": customer_of_b})
    with pytest.raises(Conflict, match="belong to 2 subjects"):
        identity.get_or_create_subject(session, controller_id=C, identifiers={"email": a, "customer_id": customer_of_b})


def test_a_contradicting_birth_date_is_a_conflict(session: Session) -> None:
    email = _email()
    identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email}, birth_date=date(2012, 5, 1))
    with pytest.raises(Conflict, match="another birth date"):
        identity.get_or_create_subject(
            session, controller_id=C, identifiers={"email": email}, birth_date=date(2011, 5, 1)
        )


def test_at_least_one_identifier_is_needed(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="at least one"):
        identity.get_or_create_subject(session, controller_id=C, identifiers={})


def test_every_change_is_audited_by_id_without_personal_data(session: Session) -> None:
    email = _email()
    subject = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email})
    (entry,) = _audit_for(session, subject.id)
    assert entry.action == "subject.created" and entry.controller_id == C
    assert entry.details == {"identifier_kinds": ["email"], "birth_date_set": False}
    assert verify(session).ok


def test_reveal_many_decrypts_one_kind_for_many_subjects(session: Session) -> None:
    emails = [_email() for _ in range(3)]
    subjects = [identity.get_or_create_subject(session, controller_id=C, identifiers={"email": e}) for e in emails]
    revealed = identity.reveal_many(session, [s.id for s in subjects], kind="email")
    assert revealed == {s.id: [e.lower()] for s, e in zip(subjects, emails, strict=True)}


def test_ciphertexts_do_not_decrypt_under_another_secret_key_or_another_controller(
    session: Session, settings: Settings
) -> None:
    blob = encrypt(C, "email", "kari@example.no")
    assert decrypt(C, "email", blob) == "kari@example.no"
    with pytest.raises(DecryptionFailed):
        decrypt("nestit-as", "email", blob)
    use_settings(Settings(secret_key="another-secret-key-that-is-long-enough-42"))
    with pytest.raises(DecryptionFailed):
        decrypt(C, "email", blob)
    use_settings(settings)


def test_a_different_secret_key_finds_nothing(session: Session, settings: Settings) -> None:
    email = _email()
    identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email})
    use_settings(Settings(secret_key="another-secret-key-that-is-long-enough-42"))
    assert identity.find_subject(session, controller_id=C, kind="email", value=email) is None
    use_settings(settings)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2010, 6, 15), date(2026, 6, 14), 15),
        (date(2010, 6, 15), date(2026, 6, 15), 16),
        (date(2008, 2, 29), date(2025, 2, 28), 16),
        (date(2008, 2, 29), date(2025, 3, 1), 17),
    ],
)
def test_age_on_counts_completed_years(born: date, day: date, age: int) -> None:
    assert identity.age_on(Subject(controller_id=C, birth_date=born), day) == age


def test_age_is_unknown_without_a_birth_date() -> None:
    assert identity.age_on(Subject(controller_id=C), date(2026, 1, 1)) is None


def test_a_verified_guardian_link_makes_a_guardian_until_revoked(session: Session) -> None:
    parent = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": _email()})
    child = identity.get_or_create_subject(
        session,
        controller_id=C,
        identifiers={"customer_id": f"pupil-{uuid.uuid4().hex[:6]}"},
        birth_date=date(2015, 3, 3),
    )
    assert not identity.is_guardian_of(session, parent.id, child.id)
    link = identity.link_guardian(session, controller_id=C, guardian_id=parent.id, child_id=child.id, method="bankid")
    assert link.verified_at is not None
    assert identity.is_guardian_of(session, parent.id, child.id)
    assert not identity.is_guardian_of(session, child.id, parent.id)
    assert identity.guardians_of(session, child.id) == [parent.id]
    identity.unlink_guardian(session, guardian_id=parent.id, child_id=child.id)
    assert not identity.is_guardian_of(session, parent.id, child.id)
    identity.link_guardian(session, controller_id=C, guardian_id=parent.id, child_id=child.id, method="staff_check")
    assert identity.is_guardian_of(session, parent.id, child.id)
    actions = [e.action for e in _audit_for(session, link.id) if e.entity_type == "guardian_link"]
    assert actions == ["guardian.linked", "guardian.unlinked", "guardian.linked"]


def test_guardian_links_stay_within_one_controller_and_never_point_at_oneself(session: Session) -> None:
    parent = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": _email()})
    elsewhere = identity.get_or_create_subject(session, controller_id="nestpros", identifiers={"email": _email()})
    with pytest.raises(NotFound, match=f"subject {elsewhere.id} does not exist for controller"):  # no oracle
        identity.link_guardian(session, controller_id=C, guardian_id=parent.id, child_id=elsewhere.id, method="x")
    with pytest.raises(ValidationFailed, match="own guardian"):
        identity.link_guardian(session, controller_id=C, guardian_id=parent.id, child_id=parent.id, method="x")
    with pytest.raises(NotFound):
        identity.unlink_guardian(session, guardian_id=parent.id, child_id=uuid.uuid4())


def test_a_device_is_created_once_and_linked_to_the_subject_who_logs_in(session: Session) -> None:
    token = f"dev-{uuid.uuid4().hex}"
    device = identity.get_or_create_device(session, C, token)
    assert identity.get_or_create_device(session, C, token).id == device.id
    assert identity.find_device(session, "nestpros", token) is None
    subject = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": _email()})
    linked = identity.link_device(session, controller_id=C, device_id=token, subject_id=subject.id)
    assert linked.id == device.id and linked.subject_id == subject.id and linked.linked_at is not None
    assert identity.devices_of(session, subject.id) == [device]
    actions = [e.action for e in _audit_for(session, device.id)]
    assert actions == ["device.created", "device.linked"]


def test_get_subject_of_an_unknown_id_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        identity.get_subject(session, uuid.uuid4())


def test_concurrent_creations_of_one_person_end_in_one_subject(engine: Engine, settings: Settings) -> None:
    factory = make_session_factory(engine)
    email = _email()
    found: list[uuid.UUID] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def create() -> None:
        try:
            start.wait()
            with session_scope(factory) as s:
                found.append(identity.get_or_create_subject(s, controller_id=C, identifiers={"email": email}).id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(found)) == 1


def test_a_new_subject_whose_identifier_was_taken_first_leaves_nothing_behind(session: Session) -> None:
    # What a writer that lost the race for an identifier sees: its INSERT ... ON CONFLICT DO NOTHING skipped
    # the identifier, so its half-made subject is removed again and the owner is looked up afresh.
    email = _email()
    owner = identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email})
    values = {"email": identity.normalise("email", email)}
    hashes = {"email": identity.hash_identifier("email", email)}
    subjects_before = session.execute(text("SELECT count(*) FROM subjects")).scalar_one()
    assert identity._create_subject(session, C, None, values, hashes) is None
    assert session.execute(text("SELECT count(*) FROM subjects")).scalar_one() == subjects_before
    assert identity.get_or_create_subject(session, controller_id=C, identifiers={"email": email}).id == owner.id
