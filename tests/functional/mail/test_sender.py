"""The sender against a real SMTP server (aiosmtpd): every template in each language, back-off, failures,
the ``.eml`` folder of demo mode, and rows a dead sender left behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dataright.audit.models import AuditEntry
from dataright.config import Settings
from dataright.mail import service
from dataright.mail.models import MailStatus, OutboxMessage
from dataright.mail.render import LANGUAGES, TEMPLATES, render
from dataright.mail.sender import FolderTransport, Sender, SmtpTransport
from dataright.storage.engine import session_scope
from fixtures.mail_contexts import CONTEXTS
from fixtures.mail_db import (
    eml_files,
    enqueue_verifications,
    factory,
    install,
    installed,
    mail_settings,
    outbox_db,
    outbox_engine,
    rows,
)
from fixtures.smtp import SmtpServer, free_port

__all__ = ["factory", "installed", "outbox_db", "outbox_engine"]  # fixtures used by name below

GREETING = {"en": "Hello,", "nb": "Hei,", "sv": "Hej,"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_every_template_arrives_at_the_smtp_server_in_each_language(
    factory: sessionmaker[Session], outbox_db: str, smtp_server: SmtpServer, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_server))
    contexts = CONTEXTS
    expected: dict[str, tuple[str, str, str]] = {}
    with session_scope(factory) as session:
        for template in sorted(TEMPLATES):
            for lang in LANGUAGES:
                address = f"{template}.{lang}@example.no"
                row_id = service.enqueue(
                    session,
                    controller_id="nexalearn",
                    to=address,
                    template=template,
                    language=lang,
                    context=contexts[template],
                    dedupe_key=f"{template}:{lang}",
                )
                expected[address] = (lang, render(template, lang, contexts[template]).subject, str(row_id))

    report = Sender(factory, settings, SmtpTransport(settings)).drain(batch=5)

    assert report.sent == len(expected) and report.failed == report.unknown == 0, {
        r.last_error for r in rows(factory).values()
    }
    arrived = {message["To"]: message for message in smtp_server.messages}
    assert set(arrived) == set(expected)
    for address, (lang, subject, row_id) in expected.items():
        message = arrived[address]
        assert message["Subject"] == subject
        assert message["From"] == '"NexaLearn AS" <privacy@dataright.example>' or message["From"].endswith(
            "<privacy@dataright.example>"
        )
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        assert text.get_content().startswith(GREETING[lang])
        assert f'<html lang="{lang}">' in html.get_content()
        assert message["Message-ID"] == f"<{row_id.replace('-', '')}@dataright.example>"
    for row in rows(factory).values():
        assert row.status == MailStatus.sent.value and row.attempts == 1 and row.sent_at is not None
        assert row.recipient_ciphertext is None and row.content_ciphertext is None


def test_a_refusing_server_gets_retries_with_exponential_back_off_then_failed(
    factory: sessionmaker[Session], outbox_db: str, smtp_server: SmtpServer, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_server, mail_backoff_seconds=60, mail_max_attempts=3))
    (row_id,) = enqueue_verifications(factory, 1)
    clock = Clock()
    smtp_server.refuse("451 4.3.0 try again later", "451 4.3.0 try again later", "451 4.3.0 try again later")
    sender = Sender(factory, settings, SmtpTransport(settings), clock=clock)

    first = sender.drain()
    row = rows(factory)[row_id]
    assert (first.retrying, row.status, row.attempts, row.last_error) == (1, "pending", 1, "smtp 451")
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)

    clock.advance(59)
    assert sender.drain().handled == 0  # not due yet
    clock.advance(1)
    sender.drain()
    row = rows(factory)[row_id]
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == clock.now + timedelta(seconds=120)

    clock.advance(120)
    last = sender.drain()
    row = rows(factory)[row_id]
    assert (last.failed, row.status, row.attempts) == (1, "failed", 3)
    assert smtp_server.handler.refused == 3 and smtp_server.messages == []
    with session_scope(factory, write=False) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == str(row_id)).order_by(AuditEntry.id)
        ).all()
    assert actions == ["mail.enqueued", "mail.retry_scheduled", "mail.retry_scheduled", "mail.failed"]


def test_a_retry_after_a_refusal_arrives_once(
    factory: sessionmaker[Session], outbox_db: str, smtp_server: SmtpServer, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_server, mail_backoff_seconds=0))
    (row_id,) = enqueue_verifications(factory, 1)
    smtp_server.refuse("421 4.7.0 busy")
    report = Sender(factory, settings, SmtpTransport(settings)).drain()
    assert (report.retrying, report.sent) == (1, 1)
    assert len(smtp_server.messages) == 1
    assert rows(factory)[row_id].attempts == 2


def test_a_permanent_refusal_fails_at_once(
    factory: sessionmaker[Session], outbox_db: str, smtp_server: SmtpServer, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_server, mail_max_attempts=5))
    (row_id,) = enqueue_verifications(factory, 1)
    smtp_server.refuse("550 5.1.1 mailbox unavailable")
    report = Sender(factory, settings, SmtpTransport(settings)).drain()
    row = rows(factory)[row_id]
    assert (report.failed, row.status, row.attempts, row.last_error) == (1, "failed", 1, "smtp 550")
    assert row.content_ciphertext is not None  # kept, so a person can queue it again
    with session_scope(factory) as session:
        service.resolve(session, message_id=row_id, delivered=False, actor="test")
    assert Sender(factory, settings, SmtpTransport(settings)).drain().sent == 1
    assert len(smtp_server.messages) == 1


def test_an_unreachable_server_counts_an_attempt_and_backs_off(
    factory: sessionmaker[Session], outbox_db: str, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_port=free_port(), smtp_host="127.0.0.1"))
    ids = enqueue_verifications(factory, 2)
    clock = Clock()
    report = Sender(factory, settings, SmtpTransport(settings), clock=clock).drain()
    assert report.retrying == 2
    for row_id in ids:
        row = rows(factory)[row_id]
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error is not None and "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at == clock.now + timedelta(seconds=60)


def test_demo_mode_writes_one_eml_file_per_message(
    factory: sessionmaker[Session], outbox_db: str, tmp_path: Path, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, demo=True, mail_dir=tmp_path / "mail"))
    ids = enqueue_verifications(factory, 3, language="sv")
    sender = Sender(factory, settings, FolderTransport(tmp_path / "mail"))
    assert sender.drain().sent == 3
    assert [path.name for path in eml_files(tmp_path / "mail")] == sorted(f"{row_id}.eml" for row_id in ids)
    assert "Hej," in (tmp_path / "mail" / f"{ids[0]}.eml").read_text(encoding="utf-8")
    assert sender.drain().sent == 0


def _leave_in_sending(factory: sessionmaker[Session], row_id: Any, transport: str) -> None:
    """What a sender killed during the handover leaves behind: ``sending`` with a lapsed lease."""
    with session_scope(factory) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(
                status="sending",
                transport=transport,
                attempts=1,
                lease_token="dead",
                lease_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )


def test_a_row_left_in_sending_is_not_sent_again_but_marked_unknown(
    factory: sessionmaker[Session], outbox_db: str, smtp_server: SmtpServer, installed: list[Settings]
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_server))
    stuck, other = enqueue_verifications(factory, 2)
    _leave_in_sending(factory, stuck, "smtp")
    report = Sender(factory, settings, SmtpTransport(settings)).drain()
    assert (report.unknown, report.sent) == (1, 1)
    assert rows(factory)[stuck].status == "unknown" and rows(factory)[other].status == "sent"
    assert [m["Message-ID"] for m in smtp_server.messages] == [rows(factory)[other].message_id]
    with session_scope(factory, write=False) as session:
        assert service.status_counts(session)["unknown"] == 1

    with session_scope(factory) as session:
        service.resolve(session, message_id=stuck, delivered=True, actor="test")
    row = rows(factory)[stuck]
    assert row.status == "sent" and row.content_ciphertext is None


def test_a_row_left_in_sending_with_its_file_written_is_sent_and_without_it_requeued(
    factory: sessionmaker[Session], outbox_db: str, tmp_path: Path, installed: list[Settings]
) -> None:
    folder = tmp_path / "mail"
    settings = install(installed, mail_settings(outbox_db, mail_dir=folder))
    written, lost = enqueue_verifications(factory, 2)
    transport = FolderTransport(folder)
    sender = Sender(factory, settings, transport)
    assert sender.drain().sent == 2
    before = transport.path_for(written).read_bytes()
    transport.path_for(lost).unlink()
    for row_id in (written, lost):
        with session_scope(factory) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(content_ciphertext=None)
                .execution_options(synchronize_session=False)
            )
    # Re-enqueue fresh rows to stand for the crash case (the content is needed to write the file again).
    written2, lost2 = enqueue_verifications(factory, 2, prefix="ola")
    _leave_in_sending(factory, written2, "file")
    _leave_in_sending(factory, lost2, "file")
    transport.path_for(written2).write_bytes(before)
    report = sender.drain()
    assert (report.sent, report.requeued) == (2, 1)
    assert rows(factory)[written2].status == "sent" and rows(factory)[lost2].status == "sent"
    assert transport.path_for(written2).read_bytes() == before  # not rewritten
    assert transport.path_for(lost2).is_file()
