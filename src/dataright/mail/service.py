"""The outbox's operations: enqueue in the caller's transaction; claim and mark for the sender; counts.

``enqueue`` renders the message when it is written, not when it is sent: a template or context error fails
the caller's transaction (nothing is written), and what a retry or a second sender sends is byte for byte
what was enqueued, under the same ``Message-ID``. The rendered text is encrypted at rest and erased, with
the address, once the message is sent; what stays is the keyed hash of the address, the template, the
language and the timestamps (what was sent to whom, for the record and the disclosure log).

The same logical message is enqueued once: ``dedupe_key`` is unique per controller, and enqueueing an
existing key again returns the first row's id and writes nothing (a retried HTTP call or job does not
mail twice). A concurrent enqueue of the same key loses the race on the unique constraint inside a
savepoint, so the caller's transaction goes on and gets the winner's id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dataright.audit.service import append
from dataright.config import get_settings
from dataright.errors import Conflict, NotFound, ValidationFailed
from dataright.identity.crypto import decrypt, encrypt, keyed_hash
from dataright.identity.normalise import normalise
from dataright.mail.models import MailStatus, OutboxMessage
from dataright.mail.render import render
from dataright.storage.types import utcnow

MAX_DEDUPE_KEY = 200
ERROR_LENGTH = 200


def _recipient_kind(row_id: uuid.UUID) -> str:
    return f"mail-recipient:{row_id}"


def _content_kind(row_id: uuid.UUID) -> str:
    return f"mail-content:{row_id}"


def message_id_for(row_id: uuid.UUID, mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2].strip(" >") or "localhost"
    return f"<{row_id.hex}@{domain}>"


def recipient_hash(address: str) -> str:
    """The keyed hash an outbox row keeps of its recipient (the same as a subject's e-mail identifier)."""
    return keyed_hash("email", normalise("email", address))


def enqueue(
    session: Session,
    *,
    controller_id: str,
    to: str,
    template: str,
    language: str,
    context: Mapping[str, Any],
    dedupe_key: str,
    actor: str = "system",
) -> uuid.UUID:
    """Write one e-mail into the outbox in the caller's transaction; its id (the existing one for a known key).

    ``ValidationFailed`` for an unknown template or language, a missing, unknown or malformed context key,
    a bad address or dedupe key: raised before anything is written. ``Conflict`` when ``dedupe_key`` is
    already used by this controller for another template.
    """
    if not dedupe_key.strip() or len(dedupe_key) > MAX_DEDUPE_KEY:
        raise ValidationFailed(f"mail dedupe_key: 1 to {MAX_DEDUPE_KEY} characters expected")
    rendered = render(template, language, context)
    address = normalise("email", to)
    existing = _by_dedupe_key(session, controller_id, dedupe_key)
    if existing is not None:
        return _same_message(existing, template)
    row_id = uuid.uuid4()
    content = json.dumps(
        {
            "from_name": str(context["controller_name"]),
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
        },
        ensure_ascii=False,
    )
    row = OutboxMessage(
        id=row_id,
        controller_id=controller_id,
        dedupe_key=dedupe_key,
        template=template,
        language=language,
        recipient_hash=keyed_hash("email", address),
        recipient_ciphertext=encrypt(controller_id, _recipient_kind(row_id), address),
        content_ciphertext=encrypt(controller_id, _content_kind(row_id), content),
        message_id=message_id_for(row_id, get_settings().mail_from),
        status=MailStatus.pending.value,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = _by_dedupe_key(session, controller_id, dedupe_key)
        if winner is None:
            raise
        return _same_message(winner, template)
    append(
        session,
        actor=actor,
        action="mail.enqueued",
        entity_type="mail",
        entity_id=row_id,
        controller_id=controller_id,
        details={"template": template, "language": language},
    )
    return row_id


def _by_dedupe_key(session: Session, controller_id: str, dedupe_key: str) -> tuple[uuid.UUID, str] | None:
    row = session.execute(
        select(OutboxMessage.id, OutboxMessage.template).where(
            OutboxMessage.controller_id == controller_id, OutboxMessage.dedupe_key == dedupe_key
        )
    ).first()
    return (row.id, row.template) if row is not None else None


def _same_message(existing: tuple[uuid.UUID, str], template: str) -> uuid.UUID:
    row_id, existing_template = existing
    if existing_template != template:
        raise Conflict(
            f"mail dedupe_key already used for a {existing_template} message (outbox row {row_id}), not {template}"
        )
    return row_id


# --- read side -------------------------------------------------------------------------------------------


def status_counts(session: Session, *, controller_id: str | None = None) -> dict[str, int]:
    """How many outbox rows are in each status (every status listed, zeros included)."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if controller_id is not None:
        query = query.where(OutboxMessage.controller_id == controller_id)
    counts = {status.value: 0 for status in MailStatus}
    for status, count in session.execute(query):
        counts[status] = count
    return counts


def get_message(session: Session, message_id: uuid.UUID) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"no outbox message {message_id}")
    return row


def ids_in_status(session: Session, status: MailStatus, *, limit: int = 100) -> list[uuid.UUID]:
    query = select(OutboxMessage.id).where(OutboxMessage.status == status.value).order_by(OutboxMessage.created_at)
    return list(session.scalars(query.limit(limit)))


def sent_to(session: Session, *, controller_id: str, address: str) -> list[OutboxMessage]:
    """The outbox rows addressed to ``address`` at ``controller_id`` (found by keyed hash), oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.controller_id == controller_id, OutboxMessage.recipient_hash == recipient_hash(address)
            )
            .order_by(OutboxMessage.created_at)
        )
    )


# --- sender side -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A claimed row, decrypted for sending."""

    id: uuid.UUID
    controller_id: str
    message_id: str
    to: str
    from_name: str
    subject: str
    text: str
    html: str
    created_at: datetime
    attempts: int


def _claimable(now: datetime) -> Any:
    return or_(
        and_(OutboxMessage.status == MailStatus.pending.value, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == MailStatus.claimed.value, OutboxMessage.lease_until < now),
    )


def claim(session: Session, *, token: str, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to ``limit`` due rows for this sender (``token``) until ``now + lease``.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent senders take disjoint rows without waiting.
    SQLite: the caller's transaction began with ``BEGIN IMMEDIATE`` (the single write lock), so the select and
    the update are atomic. Either way the UPDATE repeats the claimable condition, so a row taken meanwhile is
    not taken twice. A row whose earlier claim lapsed (its sender died before ``sending``) is claimable again:
    nothing of it reached a server.
    """
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(_claimable(now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _claimable(now))
        .values(status=MailStatus.claimed.value, lease_token=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_token == token)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()
    out = []
    for row in rows:
        if row.recipient_ciphertext is None or row.content_ciphertext is None:
            continue
        content = json.loads(decrypt(row.controller_id, _content_kind(row.id), row.content_ciphertext))
        out.append(
            Claimed(
                id=row.id,
                controller_id=row.controller_id,
                message_id=row.message_id,
                to=decrypt(row.controller_id, _recipient_kind(row.id), row.recipient_ciphertext),
                from_name=content["from_name"],
                subject=content["subject"],
                text=content["text"],
                html=content["html"],
                created_at=row.created_at,
                attempts=row.attempts,
            )
        )
    return out


def _owned(message_id: uuid.UUID, token: str, status: MailStatus) -> Any:
    return and_(
        OutboxMessage.id == message_id, OutboxMessage.lease_token == token, OutboxMessage.status == status.value
    )


def mark_sending(
    session: Session, *, message_id: uuid.UUID, token: str, transport: str, now: datetime, lease: timedelta
) -> bool:
    """Record that this attempt is about to hand the message over (the lease renewed for it); False when the
    claim was lost (its lease ran out and another sender may have taken the row)."""
    result = session.execute(
        update(OutboxMessage)
        .where(_owned(message_id, token, MailStatus.claimed), OutboxMessage.lease_until > now)
        .values(
            status=MailStatus.sending.value,
            transport=transport,
            attempts=OutboxMessage.attempts + 1,
            lease_until=now + lease,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _audit(session: Session, row: OutboxMessage, action: str, actor: str, **details: Any) -> None:
    append(
        session,
        actor=actor,
        action=action,
        entity_type="mail",
        entity_id=row.id,
        controller_id=row.controller_id,
        details={"template": row.template, "attempts": row.attempts, **details},
    )


def _erase_content(row: OutboxMessage) -> None:
    row.recipient_ciphertext = None
    row.content_ciphertext = None
    row.lease_token = None
    row.lease_until = None


def mark_sent(session: Session, *, message_id: uuid.UUID, token: str | None, now: datetime, actor: str) -> bool:
    """``sending`` (by this sender, or ``unknown`` when resolving) → ``sent``; the content is erased."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        return False
    if token is not None and (row.lease_token != token or row.status != MailStatus.sending.value):
        return False
    row.status = MailStatus.sent.value
    row.sent_at = now
    row.last_error = None
    _erase_content(row)
    _audit(session, row, "mail.sent", actor, transport=row.transport or "")
    return True


def backoff(attempts: int, *, base: float, ceiling: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base``, doubled each time, at most ``ceiling``."""
    if attempts <= 0:
        return timedelta(0)
    return timedelta(seconds=min(ceiling, base * 2 ** min(attempts - 1, 62)))


def mark_failed_attempt(
    session: Session,
    *,
    message_id: uuid.UUID,
    token: str,
    now: datetime,
    error: str,
    permanent: bool,
    actor: str,
) -> MailStatus | None:
    """This attempt delivered nothing (the server refused it, or no connection opened before the handover
    began): retry later, or ``failed`` when it was permanent or the last allowed attempt. None when the
    claim was lost meanwhile. A ``claimed`` row's attempt is counted here, a ``sending`` one's already was."""
    settings = get_settings()
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.lease_token != token:
        return None
    if row.status == MailStatus.claimed.value:
        row.attempts += 1
    elif row.status != MailStatus.sending.value:
        return None
    row.last_error = error[:ERROR_LENGTH]
    row.lease_token = None
    row.lease_until = None
    if permanent or row.attempts >= settings.mail_max_attempts:
        row.status = MailStatus.failed.value
        _audit(session, row, "mail.failed", actor, permanent=permanent)
        return MailStatus.failed
    row.status = MailStatus.pending.value
    row.next_attempt_at = now + backoff(
        row.attempts, base=settings.mail_backoff_seconds, ceiling=settings.mail_backoff_max_seconds
    )
    _audit(session, row, "mail.retry_scheduled", actor)
    return MailStatus.pending


def mark_unknown(session: Session, *, message_id: uuid.UUID, error: str, actor: str) -> bool:
    """A handover that may or may not have reached the server: never re-sent without a person's decision."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != MailStatus.sending.value:
        return False
    row.status = MailStatus.unknown.value
    row.last_error = error[:ERROR_LENGTH]
    row.lease_token = None
    row.lease_until = None
    _audit(session, row, "mail.outcome_unknown", actor)
    return True


def release(session: Session, *, message_ids: Sequence[uuid.UUID], token: str) -> None:
    """Give back claimed rows this sender did not get to (a stop between batches), for the next run."""
    if message_ids:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(message_ids),
                OutboxMessage.lease_token == token,
                OutboxMessage.status == MailStatus.claimed.value,
            )
            .values(status=MailStatus.pending.value, lease_token=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


def stale_sending(session: Session, *, now: datetime) -> list[tuple[uuid.UUID, str | None, str]]:
    """Rows left in ``sending`` by a sender whose lease ran out (it died mid-handover): id, transport, Message-ID."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.transport, OutboxMessage.message_id)
        .where(OutboxMessage.status == MailStatus.sending.value, OutboxMessage.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    return [(row.id, row.transport, row.message_id) for row in rows]


def requeue_unsent(session: Session, *, message_id: uuid.UUID, actor: str, reason: str) -> None:
    """A stale ``sending`` row proven never delivered (no file was written): back to ``pending``."""
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.status != MailStatus.sending.value:
        return
    row.status = MailStatus.pending.value
    row.lease_token = None
    row.lease_until = None
    row.next_attempt_at = utcnow()
    _audit(session, row, "mail.requeued", actor, reason=reason)


def resolve(session: Session, *, message_id: uuid.UUID, delivered: bool, actor: str) -> OutboxMessage:
    """A person's decision on an ``unknown`` row (or a ``failed`` one to try again).

    ``delivered=True``: the recipient got it (seen in the SMTP server's log by its Message-ID) → ``sent``.
    ``delivered=False``: it did not arrive → ``pending`` again, with a fresh attempt count, same Message-ID.
    """
    row = get_message(session, message_id)
    allowed = {MailStatus.unknown.value} if delivered else {MailStatus.unknown.value, MailStatus.failed.value}
    if row.status not in allowed:
        raise Conflict(
            f"outbox message {message_id} is {row.status}; only {' or '.join(sorted(allowed))} can be resolved so"
        )
    if delivered:
        row.status = MailStatus.sent.value
        row.sent_at = utcnow()
        _erase_content(row)
    else:
        if row.recipient_ciphertext is None or row.content_ciphertext is None:
            raise Conflict(f"outbox message {message_id} no longer holds its content; it cannot be sent again")
        row.status = MailStatus.pending.value
        row.attempts = 0
        row.next_attempt_at = utcnow()
    _audit(session, row, "mail.resolved", actor, delivered=delivered)
    return row
