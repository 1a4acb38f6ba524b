"""The outbox: a row written in the caller's transaction, encrypted at rest, one per dedupe key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.errors import Conflict, ValidationFailed
from dataright.mail import service
from dataright.mail.models import MailStatus, OutboxMessage

# A controller id of these tests alone: other tests commit outbox rows to the same database.
CONTROLLER = "mail-enqueue-tests"
CONTEXT = {
    "controller_name": "NexaLearn AS",
    "request_reference": "REQ-7K2P",
    "code": "481516",
    "link": "https://privacy.nexalearn.example/verify?t=abc",
    "expires_at": "2026-12-03",
}


def _enqueue(session: Session, **change: object) -> object:
    arguments: dict[str, object] = {
        "controller_id": CONTROLLER,
        "to": "Kari.Nordmann@Example.no",
        "template": "request_verification",
        "language": "nb",
        "context": CONTEXT,
        "dedupe_key": "request:REQ-7K2P:verification:1",
        **change,
    }
    return service.enqueue(session, **arguments)  # type: ignore[arg-type]


def test_enqueue_writes_one_pending_row_with_the_address_and_text_encrypted(session: Session) -> None:
    row_id = _enqueue(session)
    row = session.get(OutboxMessage, row_id)
    assert row is not None
    assert row.status == MailStatus.pending.value and row.attempts == 0
    assert row.template == "request_verification" and row.language == "nb"
    assert row.message_id == f"<{row.id.hex}@localhost>"
    assert row.recipient_hash == service.recipient_hash("kari.nordmann@example.no")
    assert row.recipient_ciphertext is not None and b"example.no" not in row.recipient_ciphertext.lower()
    assert row.content_ciphertext is not None and b"481516" not in row.content_ciphertext


def test_enqueue_audits_ids_only(session: Session) -> None:
    row_id = _enqueue(session)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(row_id))).one()
    assert entry.action == "mail.enqueued"
    assert entry.details == {"template": "request_verification", "language": "nb"}
    assert "example" not in json.dumps(entry.details).lower()


def test_the_same_dedupe_key_is_enqueued_once(session: Session) -> None:
    first = _enqueue(session)
    again = _enqueue(session, to="someone.else@example.no")
    assert again == first
    assert len(session.scalars(select(OutboxMessage).where(OutboxMessage.controller_id == CONTROLLER)).all()) == 1
    other_controller = _enqueue(session, controller_id="nestit-norge")
    assert other_controller != first


def test_a_dedupe_key_reused_for_another_template_is_a_conflict(session: Session) -> None:
    _enqueue(session)
    context = {**CONTEXT, "new_deadline": "2026-05-04", "reason": "x"}
    for key in ("code", "link", "expires_at"):
        del context[key]
    with pytest.raises(Conflict, match="already used for a request_verification message"):
        _enqueue(session, template="request_extended", context=context)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"template": "welcome"}, "unknown mail template 'welcome'"),
        ({"context": {**CONTEXT, "expires_at": ""}}, "context key 'expires_at' is empty"),
        ({"to": "not-an-address"}, "email: not a valid e-mail address"),
        ({"language": "fi"}, "unsupported mail language 'fi'"),
        ({"dedupe_key": ""}, "dedupe_key"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    session: Session, change: dict[str, object], expected: str
) -> None:
    with pytest.raises(ValidationFailed, match=expected):
        _enqueue(session, **change)
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.controller_id == CONTROLLER)).all() == []
    assert (
        session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "mail", AuditEntry.controller_id == CONTROLLER)
        ).all()
        == []
    )


def test_counts_by_status_list_every_status(session: Session) -> None:
    _enqueue(session)
    _enqueue(session, dedupe_key="request:REQ-7K2P:verification:2")
    counts = service.status_counts(session, controller_id=CONTROLLER)
    assert counts == {"pending": 2, "claimed": 0, "sending": 0, "sent": 0, "failed": 0, "unknown": 0}
