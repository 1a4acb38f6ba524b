"""The sender: drains the outbox through SMTP, or into a folder of ``.eml`` files in demo mode.

**What a crash can and cannot do.** A message is sent at most once per outbox row; no crash, kill or
second sender makes it arrive twice. Each row moves through short transactions of its own:

1. ``claim``: due rows become ``claimed`` by this sender (a random token) with a lease. A sender that dies
   now has handed nothing to a server; when its lease runs out the rows are claimable again.
2. After the server accepted ``MAIL FROM`` and ``RCPT TO``, and *before* ``DATA``, the row is committed as
   ``sending`` (the ``Message-ID`` was fixed when it was enqueued). Only from here on can the message
   reach the recipient.
3. After the server's ``250`` to the end of ``DATA`` the row is committed as ``sent`` and its content
   erased. A ``4xx`` reply (or ``5xx``: permanent, ``failed`` at once) means the server did not take it:
   the row goes back to ``pending`` with an exponential back-off, or to ``failed`` after
   ``mail_max_attempts``.

The one window that cannot be closed is between handing over ``DATA`` and committing ``sent``: a kill, a
power cut or a dropped connection there leaves the row in ``sending`` and nobody knows whether the server
queued it (SMTP has no way to ask). Such a row is never re-sent blindly: when its lease has run out the next
sender moves it to ``unknown`` (audited), ``dataright mail list`` counts it, and a person looks up its
``Message-ID`` in the mail server's log and runs ``dataright mail resolve ID --delivered`` or
``--not-delivered`` (the latter queues it again, same ``Message-ID``, so a receiving server that
de-duplicates on it still shows it once). That is at-most-once with a visible, resolvable gap, chosen over
at-least-once because a duplicate verification code, breach notice or deadline letter confuses people
and cannot be taken back, while a missing one is found and sent.

For the ``.eml`` folder the gap closes: the file is written to a temporary name and renamed to
``<outbox id>.eml`` (atomic), so a stale ``sending`` row is ``sent`` when its file exists and ``pending``
again when it does not; a repeated write would replace the same file anyway.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings
from dataright.mail import service
from dataright.mail.models import MailStatus
from dataright.mail.service import Claimed
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow

ACTOR = "mail-sender"
Clock = Callable[[], datetime]


class Refused(Exception):
    """The server answered with an error: the message was not taken (``permanent`` for a 5xx)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Uncertain(Exception):
    """The handover broke off after it began: the message may or may not have been taken."""


class Unreachable(Exception):
    """No connection to the server at all: nothing was handed over."""


def build_message(claimed: Claimed, mail_from: str) -> EmailMessage:
    """The MIME message of an outbox row: text with an HTML alternative, the row's fixed ``Message-ID``."""
    message = EmailMessage()
    message["From"] = formataddr((claimed.from_name, mail_from))
    message["To"] = claimed.to
    message["Subject"] = claimed.subject
    message["Date"] = format_datetime(claimed.created_at)
    message["Message-ID"] = claimed.message_id
    # Quoted-printable keeps every line under SMTP's 1000-octet limit whatever the text holds.
    message.set_content(claimed.text, cte="quoted-printable")
    message.add_alternative(claimed.html, subtype="html", cte="quoted-printable")
    return message


class Transport(Protocol):
    name: str

    def open(self) -> None: ...

    def deliver(self, message: EmailMessage, claimed: Claimed, before_handover: Callable[[], bool]) -> bool:
        """Hand ``message`` over; call ``before_handover`` just before the point of no return and stop
        (returning False) when it says the row is no longer ours. Raises ``Refused`` or ``Uncertain``."""
        ...

    def close(self) -> None: ...


def _smtp_reason(code: int) -> str:
    return f"smtp {code}"


@dataclass
class SmtpTransport:
    """One SMTP connection per batch (``smtp_ssl``: TLS from the start; ``smtp_starttls``: upgraded)."""

    settings: Settings
    name: str = "smtp"
    _client: smtplib.SMTP | None = field(default=None, init=False)

    def open(self) -> None:
        s = self.settings
        try:
            if s.smtp_ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
            client.ehlo()
            if s.smtp_starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password is not None else ""
                client.login(s.smtp_username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise Unreachable(f"smtp login refused ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"smtp connection to {s.smtp_host}:{s.smtp_port} failed ({type(exc).__name__})") from None
        self._client = client

    def deliver(self, message: EmailMessage, claimed: Claimed, before_handover: Callable[[], bool]) -> bool:
        client = self._client
        if client is None:
            raise Unreachable("smtp: not connected")
        try:
            code, _ = client.mail(self.settings.mail_from)
            if code != 250:
                client.rset()
                raise Refused(_smtp_reason(code), permanent=code >= 500)
            code, _ = client.rcpt(claimed.to)
            if code not in (250, 251):
                client.rset()
                raise Refused(_smtp_reason(code), permanent=code >= 500)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._client = None
            raise Unreachable(f"smtp connection lost before the handover ({type(exc).__name__})") from None
        if not before_handover():
            client.rset()
            return False
        try:
            code, _ = client.data(message.as_bytes(policy=SMTP))
        except smtplib.SMTPDataError as exc:  # the server refused DATA itself: nothing was sent
            raise Refused(_smtp_reason(exc.smtp_code), permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._client = None
            raise Uncertain(f"smtp connection lost during DATA ({type(exc).__name__})") from None
        if code != 250:
            raise Refused(_smtp_reason(code), permanent=code >= 500)
        return True

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (OSError, smtplib.SMTPException):
                self._client.close()
            self._client = None


@dataclass
class FolderTransport:
    """Writes ``<outbox id>.eml`` into a folder (demo mode), atomically: a temporary file renamed into place."""

    folder: Path
    name: str = "file"

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, outbox_id: uuid.UUID) -> Path:
        return self.folder / f"{outbox_id}.eml"

    def deliver(self, message: EmailMessage, claimed: Claimed, before_handover: Callable[[], bool]) -> bool:
        if not before_handover():
            return False
        final = self.path_for(claimed.id)
        scratch = final.with_suffix(f".{uuid.uuid4().hex}.tmp")
        try:
            with scratch.open("wb") as handle:
                handle.write(message.as_bytes(policy=SMTP))
                handle.flush()
                os.fsync(handle.fileno())
            scratch.replace(final)
        except OSError as exc:
            scratch.unlink(missing_ok=True)
            raise Refused(f"file {type(exc).__name__}", permanent=False) from None
        return True

    def close(self) -> None:
        return None


def transport_for(settings: Settings) -> Transport:
    folder = settings.mail_folder
    return FolderTransport(folder) if folder is not None else SmtpTransport(settings)


@dataclass
class DrainReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    requeued: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.unknown


@dataclass
class Sender:
    """Drains the outbox of one database. ``clock`` is injectable so tests can step through back-off."""

    factory: sessionmaker[Session]
    settings: Settings
    transport: Transport
    clock: Clock = utcnow
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.mail_lease_seconds)

    def due_count(self) -> int:
        with session_scope(self.factory, write=False) as session:
            counts = service.status_counts(session)
        return counts[MailStatus.pending.value] + counts[MailStatus.claimed.value]

    def recover(self, report: DrainReport) -> None:
        """Settle rows a dead sender left in ``sending`` (see the module docstring)."""
        with session_scope(self.factory) as session:
            for outbox_id, transport, _message_id in service.stale_sending(session, now=self.clock()):
                if transport == "file" and isinstance(self.transport, FolderTransport):
                    if self.transport.path_for(outbox_id).exists():
                        service.mark_sent(session, message_id=outbox_id, token=None, now=self.clock(), actor=ACTOR)
                        report.sent += 1
                    else:
                        service.requeue_unsent(session, message_id=outbox_id, actor=ACTOR, reason="no file written")
                        report.requeued += 1
                    continue
                service.mark_unknown(
                    session, message_id=outbox_id, error="sender stopped during the handover", actor=ACTOR
                )
                report.unknown += 1

    def _fail_attempt(self, claimed: Claimed, reason: str, *, permanent: bool, report: DrainReport) -> None:
        with session_scope(self.factory) as session:
            outcome = service.mark_failed_attempt(
                session,
                message_id=claimed.id,
                token=self.token,
                now=self.clock(),
                error=reason,
                permanent=permanent,
                actor=ACTOR,
            )
        if outcome is MailStatus.failed:
            report.failed += 1
        elif outcome is MailStatus.pending:
            report.retrying += 1

    def _before_handover(self, claimed: Claimed) -> Callable[[], bool]:
        def commit_sending() -> bool:
            with session_scope(self.factory) as session:
                return service.mark_sending(
                    session,
                    message_id=claimed.id,
                    token=self.token,
                    transport=self.transport.name,
                    now=self.clock(),
                    lease=self.lease,
                )

        return commit_sending

    def send_batch(self, limit: int, report: DrainReport, progress: Callable[[int], None] | None = None) -> int:
        """Claim and send up to ``limit`` due rows; how many were claimed (0: nothing due)."""
        with session_scope(self.factory) as session:
            batch = service.claim(session, token=self.token, now=self.clock(), limit=limit, lease=self.lease)
        if not batch:
            return 0
        done: list[uuid.UUID] = []
        try:
            try:
                self.transport.open()
            except Unreachable as exc:
                for claimed in batch:
                    self._claimed_attempt_failed(claimed, str(exc), report)
                    done.append(claimed.id)
                    if progress is not None:
                        progress(1)
                return len(batch)
            for claimed in batch:
                self._send_one(claimed, report)
                done.append(claimed.id)
                if progress is not None:
                    progress(1)
        finally:
            self.transport.close()
            left = [claimed.id for claimed in batch if claimed.id not in done]
            if left:
                with session_scope(self.factory) as session:
                    service.release(session, message_ids=left, token=self.token)
        return len(batch)

    def _claimed_attempt_failed(self, claimed: Claimed, reason: str, report: DrainReport) -> None:
        """A connection that never opened counts as an attempt (back-off applies) without a handover."""
        self._fail_attempt(claimed, reason, permanent=False, report=report)

    def _send_one(self, claimed: Claimed, report: DrainReport) -> None:
        message = build_message(claimed, self.settings.mail_from)
        try:
            if not self.transport.deliver(message, claimed, self._before_handover(claimed)):
                return  # the claim was lost (lease ran out, another sender took it): not ours to send
        except Refused as exc:
            self._fail_attempt(claimed, exc.reason, permanent=exc.permanent, report=report)
            return
        except Unreachable as exc:
            self._release_or_retry(claimed, str(exc), report)
            return
        except Uncertain as exc:
            with session_scope(self.factory) as session:
                service.mark_unknown(session, message_id=claimed.id, error=str(exc), actor=ACTOR)
            report.unknown += 1
            return
        with session_scope(self.factory) as session:
            service.mark_sent(session, message_id=claimed.id, token=self.token, now=self.clock(), actor=ACTOR)
        report.sent += 1

    def _release_or_retry(self, claimed: Claimed, reason: str, report: DrainReport) -> None:
        # The connection broke before this row's handover began: it is still ``claimed``, so count the
        # attempt and let back-off decide when it is tried again (reconnecting happens with the next batch).
        self._claimed_attempt_failed(claimed, reason, report)
        try:
            self.transport.close()
            self.transport.open()
        except Unreachable:
            return

    def drain(
        self,
        *,
        batch: int = 50,
        once: bool = True,
        poll_seconds: float = 5.0,
        progress: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DrainReport:
        """Send what is due, batch by batch. ``once``: stop when nothing is due; else poll until ``stop()``."""
        report = DrainReport()
        self.recover(report)
        while not (stop is not None and stop()):
            claimed = self.send_batch(batch, report, progress)
            if claimed:
                continue
            if once:
                break
            time.sleep(poll_seconds)
            self.recover(report)
        return report
