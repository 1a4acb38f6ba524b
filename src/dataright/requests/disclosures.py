"""The disclosure log: every use or disclosure of a person's data the platform makes or is told of.

``record_disclosure`` writes one row (one person, or a count of people) with its audit entry in the
caller's transaction; ``record_disclosures`` writes one row per person of a batch (an audience export) in
one statement. The person is never named: only the identity domain's keyed hash of an identifier
(``subject_kind`` + ``subject_hash``; ``mail.service.recipient_hash`` is the e-mail one).

What it answers:

* PDPA s. 21(1)(b): an access reply lists how the data was used or disclosed in the year before the request
  (``of_subject``);
* PDPA s. 22(2) and GDPR Art. 19: which organisations a correction or erasure must be sent to
  (``recipients_of_subject``);
* staff and auditors: ``dataright requests disclosures`` and ``GET /api/v1/disclosures``.

Kinds are a closed list (``DisclosureKind``) so the log reads the same everywhere; the recipient is a
system or recipient id of the declaration where there is one, ``data_subject`` for the person themself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.declarations.periods import Period
from dataright.errors import ValidationFailed
from dataright.requests.models import Disclosure
from dataright.storage.types import utcnow

DATA_SUBJECT = "data_subject"
"""The recipient of what goes to the person themself (their access package, a breach notice)."""
MAX_LIST = 10_000


class DisclosureKind(StrEnum):
    access_package = "access_package"  # the person's own data delivered to them (GDPR Art. 15, PDPA s. 21)
    portability_package = "portability_package"  # GDPR Art. 20
    breach_notice = "breach_notice"  # GDPR Art. 34, PDPA s. 26D(2)
    audience_export = "audience_export"  # a consented audience handed to a processor or ad platform
    recipient_notice = "recipient_notice"  # GDPR Art. 19 / PDPA s. 22(2): a recipient told of a change
    processor_share = "processor_share"  # data sent to a processor on the controller's behalf
    third_party_disclosure = "third_party_disclosure"  # data given to another organisation (an authority, a buyer)


ORGANISATION_KINDS = frozenset(
    {
        DisclosureKind.audience_export,
        DisclosureKind.recipient_notice,
        DisclosureKind.processor_share,
        DisclosureKind.third_party_disclosure,
    }
)
"""Kinds whose recipient is another organisation (the ones a correction must follow)."""


def _kind(kind: DisclosureKind | str) -> DisclosureKind:
    try:
        return DisclosureKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in DisclosureKind)
        raise ValidationFailed(f"kind: unknown {kind!r}; one of {known}") from None


def _check(controller_id: str, recipient: str, people: int, records: int | None, when: datetime | None) -> None:
    if not controller_id.strip():
        raise ValidationFailed("controller_id: required")
    if not recipient.strip() or len(recipient) > 200:
        raise ValidationFailed("recipient: a system or recipient id, or a name of at most 200 characters")
    if people < 0:
        raise ValidationFailed(f"people: {people} is negative")
    if records is not None and records < 0:
        raise ValidationFailed(f"records: {records} is negative")
    if when is not None and (when.tzinfo is None or when.utcoffset() is None):
        raise ValidationFailed("disclosed_at: give a time with its UTC offset")
    if when is not None and when > utcnow():
        raise ValidationFailed("disclosed_at: lies in the future")


def record_disclosure(
    session: Session,
    *,
    controller_id: str,
    kind: DisclosureKind | str,
    recipient: str,
    actor: str,
    purpose: str | None = None,
    subject_hash: str | None = None,
    subject_kind: str = "email",
    people: int = 1,
    records: int | None = None,
    reference: str | None = None,
    disclosed_at: datetime | None = None,
) -> Disclosure:
    """Log one disclosure (about one person when ``subject_hash`` is given, else ``people`` together)."""
    what = _kind(kind)
    _check(controller_id, recipient, people, records, disclosed_at)
    row = Disclosure(
        controller_id=controller_id,
        kind=what.value,
        recipient=recipient,
        purpose=purpose,
        subject_kind=subject_kind if subject_hash else None,
        subject_hash=subject_hash,
        people=1 if subject_hash else people,
        records=records,
        reference=reference,
        disclosed_at=disclosed_at or utcnow(),
        actor=actor,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor,
        action="disclosure.recorded",
        entity_type="disclosure",
        entity_id=str(row.id),
        controller_id=controller_id,
        details={"kind": what.value, "recipient": recipient, "people": row.people, "records": records},
    )
    return row


def record_disclosures(
    session: Session,
    *,
    controller_id: str,
    kind: DisclosureKind | str,
    recipient: str,
    actor: str,
    subject_hashes: Iterable[str],
    subject_kind: str = "email",
    purpose: str | None = None,
    reference: str | None = None,
    disclosed_at: datetime | None = None,
    batch: int = 5_000,
) -> int:
    """Log the same disclosure for many people (one row each, inserted in batches); the number logged."""
    what = _kind(kind)
    _check(controller_id, recipient, 0, None, disclosed_at)
    when = disclosed_at or utcnow()
    base = {
        "controller_id": controller_id,
        "kind": what.value,
        "recipient": recipient,
        "purpose": purpose,
        "subject_kind": subject_kind,
        "people": 1,
        "records": None,
        "reference": reference,
        "disclosed_at": when,
        "actor": actor,
        "created_at": utcnow(),
    }
    total = 0
    chunk: list[dict[str, Any]] = []
    for digest in subject_hashes:
        chunk.append({**base, "subject_hash": digest})
        if len(chunk) >= batch:
            session.execute(insert(Disclosure), chunk)
            total, chunk = total + len(chunk), []
    if chunk:
        session.execute(insert(Disclosure), chunk)
        total += len(chunk)
    audit(
        session,
        actor=actor,
        action="disclosure.recorded",
        entity_type="disclosure_batch",
        entity_id=reference or str(uuid.uuid4()),
        controller_id=controller_id,
        details={"kind": what.value, "recipient": recipient, "people": total},
    )
    return total


Recorder = Callable[..., Any]


def breach_notice_recorder(actor: str) -> Recorder:
    """The ``disclosure=`` callback ``breach.service.notify_subjects`` calls for each person it queues."""

    def record(session: Session, *, breach: Any, recipient_hash: str, outbox_id: object) -> None:
        record_disclosure(
            session,
            controller_id=breach.controller_id,
            kind=DisclosureKind.breach_notice,
            recipient=DATA_SUBJECT,
            actor=actor,
            subject_hash=recipient_hash,
            subject_kind="email",
            reference=breach.reference,
        )

    return record


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def since(period: Period, moment: datetime) -> datetime:
    """The moment ``period`` before ``moment`` (a year before 29 February is 28 February)."""
    back = Period(
        years=-period.years,
        months=-period.months,
        weeks=-period.weeks,
        days=-period.days,
        hours=-period.hours,
        minutes=-period.minutes,
    )
    return back.after(moment)


def _subject(hashes: Iterable[tuple[str, str]]) -> ColumnElement[bool] | None:
    conditions = [and_(Disclosure.subject_kind == kind, Disclosure.subject_hash == digest) for kind, digest in hashes]
    return or_(*conditions) if conditions else None


def of_subject(
    session: Session,
    *,
    controller_ids: Sequence[str],
    hashes: Iterable[tuple[str, str]],
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Disclosure]:
    """The logged disclosures about a person (any of their identifiers' hashes), oldest first."""
    matching = _subject(hashes)
    if matching is None:
        return []
    query = select(Disclosure).where(Disclosure.controller_id.in_(list(controller_ids)), matching)
    if start is not None:
        query = query.where(Disclosure.disclosed_at >= start)
    if end is not None:
        query = query.where(Disclosure.disclosed_at <= end)
    return list(session.scalars(query.order_by(Disclosure.disclosed_at, Disclosure.id)))


def recipients_of_subject(
    session: Session,
    *,
    controller_id: str,
    hashes: Iterable[tuple[str, str]],
    start: datetime,
    end: datetime | None = None,
) -> list[str]:
    """The organisations the person's data was disclosed to by ``controller_id`` since ``start``, sorted."""
    found = of_subject(session, controller_ids=[controller_id], hashes=hashes, start=start, end=end)
    return sorted({d.recipient for d in found if DisclosureKind(d.kind) in ORGANISATION_KINDS})


def list_disclosures(
    session: Session,
    *,
    controller_id: str | None,
    kind: str | None = None,
    recipient: str | None = None,
    reference: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1_000,
) -> list[Disclosure]:
    """The log, newest first, filtered; without a controller (the command line) every controller's."""
    if not 1 <= limit <= MAX_LIST:
        raise ValidationFailed(f"limit: between 1 and {MAX_LIST}")
    query = select(Disclosure)
    if controller_id is not None:
        query = query.where(Disclosure.controller_id == controller_id)
    if kind is not None:
        query = query.where(Disclosure.kind == _kind(kind).value)
    if recipient is not None:
        query = query.where(Disclosure.recipient == recipient)
    if reference is not None:
        query = query.where(Disclosure.reference == reference)
    if start is not None:
        query = query.where(Disclosure.disclosed_at >= start)
    if end is not None:
        query = query.where(Disclosure.disclosed_at <= end)
    return list(session.scalars(query.order_by(Disclosure.disclosed_at.desc(), Disclosure.id.desc()).limit(limit)))
