"""Subjects, identifiers, guardians and devices: the operations the other domains call.

Every operation works in the caller's transaction and records each change in the audit log by id only.
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, event, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.audit.service import append_entry
from dataright.errors import Conflict, NotFound, ValidationFailed
from dataright.identity.ages import completed_years
from dataright.identity.crypto import decrypt, encrypt, keyed_hash
from dataright.identity.models import Device, GuardianLink, Subject, SubjectIdentifier, Suppression
from dataright.identity.normalise import IdentifierKind, normalise, normalise_device_id, parse_kind
from dataright.storage.statements import attach, dialect_of, upsert_insert
from dataright.storage.types import utcnow

__all__ = [
    "IdentifierKind",
    "age_on",
    "devices_of",
    "erase_identifiers",
    "find_device",
    "find_subject",
    "find_subject_by_hash",
    "get_or_create_device",
    "get_or_create_subject",
    "get_subject",
    "guardians_of",
    "hash_identifier",
    "is_guardian_of",
    "is_suppressed",
    "link_device",
    "link_guardian",
    "normalise",
    "reveal",
    "reveal_all",
    "reveal_many",
    "subject_not_found",
    "subject_of",
    "suppress_hash",
    "unlink_guardian",
]

DEVICE_KIND = "device"
REVEAL_CHUNK = 500


def hash_identifier(kind: str, value: str, *, region: str | None = None) -> str:
    """The keyed hash (HMAC-SHA256, hex) under which an identifier is stored and found."""
    return keyed_hash(parse_kind(kind).value, normalise(kind, value, region=region))


def get_subject(session: Session, subject_id: uuid.UUID) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"subject {subject_id} does not exist")
    return subject


def subject_not_found(controller_id: str, subject_id: object) -> NotFound:
    """The one answer for a subject that does not exist and for one of another controller: a key for one
    controller must learn nothing about another's subjects."""
    return NotFound(f"subject {subject_id} does not exist for controller {controller_id!r}")


def subject_of(session: Session, controller_id: str, subject_id: uuid.UUID) -> Subject:
    """The controller's subject; ``subject_not_found`` when there is none or it is another controller's."""
    subject = session.get(Subject, subject_id)
    if subject is None or subject.controller_id != controller_id:
        raise subject_not_found(controller_id, subject_id)
    return subject


def subject_ids(session: Session, controller_id: str) -> Iterator[uuid.UUID]:
    """Every subject id of a controller, in id order, streamed (for set-based sweeps and exports)."""
    query = select(Subject.id).where(Subject.controller_id == controller_id).order_by(Subject.id)
    yield from session.execute(query.execution_options(yield_per=1000)).scalars()


def find_subject(
    session: Session, *, controller_id: str, kind: str, value: str, region: str | None = None
) -> Subject | None:
    """The controller's subject with this identifier, or None."""
    digest = hash_identifier(kind, value, region=region)
    return session.execute(
        select(Subject)
        .join(SubjectIdentifier)
        .where(
            SubjectIdentifier.controller_id == controller_id,
            SubjectIdentifier.kind == parse_kind(kind).value,
            SubjectIdentifier.hash == digest,
        )
    ).scalar_one_or_none()


def find_subject_by_hash(session: Session, *, controller_id: str, kind: str, digest: str) -> Subject | None:
    """The controller's subject whose identifier of ``kind`` has keyed hash ``digest`` (see ``hash_identifier``)."""
    return session.execute(
        select(Subject)
        .join(SubjectIdentifier)
        .where(
            SubjectIdentifier.controller_id == controller_id,
            SubjectIdentifier.kind == parse_kind(kind).value,
            SubjectIdentifier.hash == digest,
        )
    ).scalar_one_or_none()


def _normalised(identifiers: Mapping[str, str], region: str | None) -> dict[str, str]:
    if not identifiers:
        raise ValidationFailed("identifiers: at least one of email, phone, customer_id is needed")
    return {parse_kind(kind).value: normalise(kind, value, region=region) for kind, value in identifiers.items()}


_OWNERS = select(SubjectIdentifier.subject_id).where(
    SubjectIdentifier.controller_id == bindparam("controller_id"),
    tuple_(SubjectIdentifier.kind, SubjectIdentifier.hash).in_(bindparam("pairs", expanding=True)),
)  # built once: a statement made per call costs more CPU than the query


def _owners(session: Session, controller_id: str, hashes: dict[str, str]) -> set[uuid.UUID]:
    pairs = [(kind, digest) for kind, digest in hashes.items()]
    return set(session.execute(_OWNERS, {"controller_id": controller_id, "pairs": pairs}).scalars())


def _add_identifier(session: Session, subject: Subject, kind: str, value: str, digest: str) -> None:
    subject.identifiers.append(
        SubjectIdentifier(
            controller_id=subject.controller_id,
            kind=kind,
            hash=digest,
            ciphertext=encrypt(subject.controller_id, kind, value),
        )
    )


_SUBJECTS = typing.cast(Table, Subject.__table__)
_IDENTIFIERS = typing.cast(Table, SubjectIdentifier.__table__)
_INSERT_SUBJECT = insert(_SUBJECTS)
_INSERT_IDENTIFIERS: dict[str, Any] = {}  # per dialect: INSERT ... ON CONFLICT DO NOTHING RETURNING kind


def _insert_identifiers(dialect: str) -> Any:
    statement = _INSERT_IDENTIFIERS.get(dialect)
    if statement is None:
        statement = (
            upsert_insert(_IDENTIFIERS, dialect)
            .on_conflict_do_nothing(index_elements=["controller_id", "kind", "hash"])
            .returning(_IDENTIFIERS.c.kind)
        )
        _INSERT_IDENTIFIERS[dialect] = statement
    return statement


def _create_subject(
    session: Session, controller_id: str, birth_date: date | None, values: dict[str, str], hashes: dict[str, str]
) -> Subject | None:
    """A new subject with ``values`` as its identifiers, in two INSERTs and no savepoint; ``None`` when another
    transaction holds one of the identifiers (it committed first, or PostgreSQL waited for it to): then
    nothing of the new subject is left and the caller looks for the owner again."""
    now = utcnow()
    subject = Subject(id=uuid.uuid4(), controller_id=controller_id, birth_date=birth_date, created_at=now)
    session.execute(
        _INSERT_SUBJECT, {"id": subject.id, "controller_id": controller_id, "birth_date": birth_date, "created_at": now}
    )
    rows = [
        {
            "subject_id": subject.id,
            "controller_id": controller_id,
            "kind": kind,
            "hash": hashes[kind],
            "ciphertext": encrypt(controller_id, kind, value),
            "created_at": now,
        }
        for kind, value in values.items()
    ]
    added = session.execute(_insert_identifiers(dialect_of(session)), rows).all()
    if len(added) < len(rows):
        session.execute(delete(_IDENTIFIERS).where(_IDENTIFIERS.c.subject_id == subject.id))
        session.execute(delete(_SUBJECTS).where(_SUBJECTS.c.id == subject.id))
        return None
    attach(session, subject)
    return subject


def get_or_create_subject(
    session: Session,
    *,
    controller_id: str,
    identifiers: Mapping[str, str],
    birth_date: date | None = None,
    region: str | None = None,
    actor: str = "system",
) -> Subject:
    """The controller's subject known by any of ``identifiers`` (kind -> value), created when none is.

    Identifiers the subject does not have yet are added to it. Identifiers that belong to two different
    subjects are a ``Conflict`` (merging people is a decision for staff, not a side effect); so is a
    birth date that contradicts the stored one.
    """
    values = _normalised(identifiers, region)
    hashes = {kind: keyed_hash(kind, value) for kind, value in values.items()}
    for attempt in range(2):
        owners = _owners(session, controller_id, hashes)
        if len(owners) > 1:
            raise Conflict(f"the identifiers given ({', '.join(sorted(values))}) belong to {len(owners)} subjects")
        if owners:
            subject = get_subject(session, owners.pop())
            _complete(session, subject, values, hashes, birth_date, actor)
            return subject
        created = _create_subject(session, controller_id, birth_date, values, hashes)
        if created is None:
            if attempt:  # pragma: no cover - a second race in a row
                raise Conflict("the identifiers given were taken by another subject twice in a row; try again")
            continue  # someone created the subject meanwhile: find it
        _created_here(session)[created.id] = created
        append_entry(
            session,
            actor=actor,
            action="subject.created",
            entity_type="subject",
            entity_id=created.id,
            controller_id=controller_id,
            details={"identifier_kinds": sorted(values), "birth_date_set": birth_date is not None},
        )
        return created
    raise AssertionError("unreachable")  # pragma: no cover


_CREATED = "dataright.identity.created"


def _created_here(session: Session) -> dict[uuid.UUID, Subject]:
    # Held here for the transaction: the identity map holds objects weakly, and a subject made here is read
    # again (its age, its controller) by the write that made it.
    created: dict[uuid.UUID, Subject] = session.info.setdefault(_CREATED, {})
    return created


def created_in_this_transaction(session: Session, subject_id: uuid.UUID) -> bool:
    """Whether ``get_or_create_subject`` made the subject in the session's transaction (so nothing of it can
    be in the database but what this transaction wrote). Forgotten at any rollback, a savepoint's included."""
    return subject_id in session.info.get(_CREATED, ())


@event.listens_for(Session, "after_soft_rollback")
def _forget_created(session: Session, previous_transaction: object) -> None:
    session.info.pop(_CREATED, None)


def _complete(
    session: Session,
    subject: Subject,
    values: dict[str, str],
    hashes: dict[str, str],
    birth_date: date | None,
    actor: str,
) -> None:
    known = {(i.kind, i.hash) for i in subject.identifiers}
    added = sorted(kind for kind in values if (kind, hashes[kind]) not in known)
    for kind in added:
        _add_identifier(session, subject, kind, values[kind], hashes[kind])
    birth_date_set = False
    if birth_date is not None and subject.birth_date != birth_date:
        if subject.birth_date is not None:
            raise Conflict(f"subject {subject.id} has another birth date on record")
        subject.birth_date = birth_date
        birth_date_set = True
    if added or birth_date_set:
        session.flush()
        audit(
            session,
            actor=actor,
            action="subject.updated",
            entity_type="subject",
            entity_id=subject.id,
            controller_id=subject.controller_id,
            details={"identifier_kinds_added": added, "birth_date_set": birth_date_set},
        )


def reveal_all(session: Session, subject_id: uuid.UUID) -> dict[str, list[str]]:
    """Every identifier of a subject in clear, oldest first per kind (for staff who must contact the person)."""
    subject = get_subject(session, subject_id)
    revealed: dict[str, list[str]] = {}
    for identifier in sorted(subject.identifiers, key=lambda i: (i.created_at, i.id)):
        value = decrypt(subject.controller_id, identifier.kind, identifier.ciphertext)
        revealed.setdefault(identifier.kind, []).append(value)
    return revealed


def reveal(session: Session, subject_id: uuid.UUID) -> dict[str, str]:
    """One identifier per kind in clear (the first recorded one)."""
    return {kind: values[0] for kind, values in reveal_all(session, subject_id).items()}


def reveal_many(session: Session, subject_ids: Iterable[uuid.UUID], *, kind: str) -> dict[uuid.UUID, list[str]]:
    """The identifiers of one kind for many subjects, in few queries (for exports)."""
    kind_value = parse_kind(kind).value
    ids = list(dict.fromkeys(subject_ids))
    revealed: dict[uuid.UUID, list[str]] = {}
    for start in range(0, len(ids), REVEAL_CHUNK):
        chunk = ids[start : start + REVEAL_CHUNK]
        rows = session.execute(
            select(SubjectIdentifier.subject_id, SubjectIdentifier.controller_id, SubjectIdentifier.ciphertext)
            .where(SubjectIdentifier.subject_id.in_(chunk), SubjectIdentifier.kind == kind_value)
            .order_by(SubjectIdentifier.subject_id, SubjectIdentifier.id)
        )
        for subject_id, controller_id, blob in rows:
            revealed.setdefault(subject_id, []).append(decrypt(controller_id, kind_value, blob))
    return revealed


def age_on(subject: Subject, day: date) -> int | None:
    """Completed years on ``day`` (someone born on 29 February turns a year older on 1 March in other years)."""
    born = subject.birth_date
    if born is None:
        return None
    return completed_years(born, day)


# -- guardians ----------------------------------------------------------------------------------
def link_guardian(
    session: Session,
    *,
    controller_id: str,
    guardian_id: uuid.UUID,
    child_id: uuid.UUID,
    method: str,
    verified_at: datetime | None = None,
    actor: str = "system",
) -> GuardianLink:
    """Record that ``guardian_id`` acts for ``child_id``, verified by ``method`` (e.g. ``bankid``, ``staff_check``).

    Linking again after a revocation restores the link.
    """
    if guardian_id == child_id:
        raise ValidationFailed("guardian_id: a subject cannot be their own guardian")
    for subject_id in (guardian_id, child_id):
        subject_of(session, controller_id, subject_id)
    link = session.execute(
        select(GuardianLink).where(
            GuardianLink.guardian_subject_id == guardian_id, GuardianLink.child_subject_id == child_id
        )
    ).scalar_one_or_none()
    when = verified_at or utcnow()
    if link is None:
        link = GuardianLink(
            controller_id=controller_id,
            guardian_subject_id=guardian_id,
            child_subject_id=child_id,
            method=method,
            verified_at=when,
        )
        session.add(link)
    else:
        link.method, link.verified_at, link.revoked_at = method, when, None
    session.flush()
    audit(
        session,
        actor=actor,
        action="guardian.linked",
        entity_type="guardian_link",
        entity_id=link.id,
        controller_id=controller_id,
        details={"guardian_id": str(guardian_id), "child_id": str(child_id), "method": method},
    )
    return link


def unlink_guardian(session: Session, *, guardian_id: uuid.UUID, child_id: uuid.UUID, actor: str = "system") -> None:
    link = session.execute(
        select(GuardianLink).where(
            GuardianLink.guardian_subject_id == guardian_id,
            GuardianLink.child_subject_id == child_id,
            GuardianLink.revoked_at.is_(None),
        )
    ).scalar_one_or_none()
    if link is None:
        raise NotFound(f"subject {guardian_id} is not a guardian of subject {child_id}")
    link.revoked_at = utcnow()
    session.flush()
    audit(
        session,
        actor=actor,
        action="guardian.unlinked",
        entity_type="guardian_link",
        entity_id=link.id,
        controller_id=link.controller_id,
        details={"guardian_id": str(guardian_id), "child_id": str(child_id)},
    )


def _active_link() -> ColumnElement[bool]:
    return and_(GuardianLink.revoked_at.is_(None), GuardianLink.verified_at.is_not(None))


def is_guardian_of(session: Session, guardian_id: uuid.UUID, child_id: uuid.UUID) -> bool:
    """Whether a verified, unrevoked link says ``guardian_id`` acts for ``child_id``."""
    found = session.execute(
        select(GuardianLink.id).where(
            GuardianLink.guardian_subject_id == guardian_id,
            GuardianLink.child_subject_id == child_id,
            _active_link(),
        )
    ).first()
    return found is not None


def guardians_of(session: Session, child_id: uuid.UUID) -> list[uuid.UUID]:
    rows = session.execute(
        select(GuardianLink.guardian_subject_id)
        .where(GuardianLink.child_subject_id == child_id, _active_link())
        .order_by(GuardianLink.id)
    )
    return list(rows.scalars())


# -- devices ------------------------------------------------------------------------------------
def device_hash(device_id: str) -> str:
    return keyed_hash(DEVICE_KIND, normalise_device_id(device_id))


def get_device(session: Session, device_pk: uuid.UUID) -> Device | None:
    """A device by its row id (the id the consent ledger holds), or ``None``."""
    return session.get(Device, device_pk)


def find_device(session: Session, controller_id: str, device_id: str) -> Device | None:
    return session.execute(
        select(Device).where(Device.controller_id == controller_id, Device.token_hash == device_hash(device_id))
    ).scalar_one_or_none()


def get_or_create_device(session: Session, controller_id: str, device_id: str, *, actor: str = "system") -> Device:
    """The controller's record of a browser or app known by the id its cookie banner gave it."""
    digest = device_hash(device_id)
    for attempt in range(2):
        device = session.execute(
            select(Device).where(Device.controller_id == controller_id, Device.token_hash == digest)
        ).scalar_one_or_none()
        if device is not None:
            return device
        try:
            with session.begin_nested():
                device = Device(controller_id=controller_id, token_hash=digest)
                session.add(device)
                session.flush()
        except IntegrityError:
            if attempt:  # pragma: no cover
                raise
            continue
        audit(
            session,
            actor=actor,
            action="device.created",
            entity_type="device",
            entity_id=device.id,
            controller_id=controller_id,
        )
        return device
    raise AssertionError("unreachable")  # pragma: no cover


def link_device(
    session: Session, *, controller_id: str, device_id: str, subject_id: uuid.UUID, actor: str = "system"
) -> Device:
    """Tie a device to the subject who logged in on it (its cookie choices become theirs to see and change)."""
    subject_of(session, controller_id, subject_id)
    device = get_or_create_device(session, controller_id, device_id, actor=actor)
    if device.subject_id == subject_id:
        return device
    previous = device.subject_id
    device.subject_id, device.linked_at = subject_id, utcnow()
    session.flush()
    audit(
        session,
        actor=actor,
        action="device.linked",
        entity_type="device",
        entity_id=device.id,
        controller_id=controller_id,
        details={"subject_id": str(subject_id), "previous_subject_id": str(previous) if previous else None},
    )
    return device


def devices_of(session: Session, subject_id: uuid.UUID) -> list[Device]:
    return list(session.execute(select(Device).where(Device.subject_id == subject_id)).scalars())


def device_owners(session: Session, controller_id: str) -> dict[uuid.UUID, uuid.UUID]:
    """Every device of the controller linked to a subject: device id -> subject id (one query)."""
    rows = session.execute(
        select(Device.id, Device.subject_id).where(
            Device.controller_id == controller_id, Device.subject_id.is_not(None)
        )
    )
    return {device_id: subject_id for device_id, subject_id in rows if subject_id is not None}


# -- erasure and suppression --------------------------------------------------------------------
def suppress_hash(session: Session, *, controller_id: str, kind: str, digest: str, reason: str, actor: str) -> bool:
    """Record that the identity with keyed hash ``digest`` must not be imported or mailed again; whether it is new."""
    kind_value = parse_kind(kind).value
    exists = session.execute(
        select(Suppression.id).where(
            Suppression.controller_id == controller_id, Suppression.kind == kind_value, Suppression.hash == digest
        )
    ).first()
    if exists is not None:
        return False
    row = Suppression(controller_id=controller_id, kind=kind_value, hash=digest, reason=reason)
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor,
        action="identity.suppressed",
        entity_type="suppression",
        entity_id=row.id,
        controller_id=controller_id,
        details={"kind": kind_value, "reason": reason},
    )
    return True


def is_suppressed(
    session: Session, *, controller_id: str, identifiers: Mapping[str, str], region: str | None = None
) -> bool:
    """Whether any of ``identifiers`` (kind -> value) belongs to a person who asked to be erased."""
    pairs = [
        (parse_kind(kind).value, hash_identifier(kind, value, region=region)) for kind, value in identifiers.items()
    ]
    if not pairs:
        return False
    found = session.execute(
        select(Suppression.id)
        .where(Suppression.controller_id == controller_id, tuple_(Suppression.kind, Suppression.hash).in_(pairs))
        .limit(1)
    ).first()
    return found is not None


def erase_identifiers(session: Session, subject_id: uuid.UUID, *, reason: str, actor: str) -> int:
    """Erase the platform's copy of a subject's identifiers, leaving a suppression hash for each; the count.

    The subject row stays (consent records keep pointing at it, GDPR Art. 7(1)); nothing in it names the
    person any more.
    """
    subject = get_subject(session, subject_id)
    identifiers = list(subject.identifiers)
    for identifier in identifiers:
        suppress_hash(
            session,
            controller_id=subject.controller_id,
            kind=identifier.kind,
            digest=identifier.hash,
            reason=reason,
            actor=actor,
        )
        subject.identifiers.remove(identifier)
    subject.birth_date = None
    session.flush()
    audit(
        session,
        actor=actor,
        action="subject.erased",
        entity_type="subject",
        entity_id=subject.id,
        controller_id=subject.controller_id,
        details={"identifiers": len(identifiers), "reason": reason},
    )
    return len(identifiers)
