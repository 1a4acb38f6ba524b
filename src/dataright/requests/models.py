"""The requests domain's tables: requests, the controllers party to each, fulfilment tasks, verification
challenges, access packages and the disclosure log.

No column holds the requester's identity in clear: ``identifier_hash`` is the identity domain's keyed hash
(for finding the person and spotting a repeat), ``identifier_ciphertext`` is AES-GCM (to write back to them).
Free text the person wrote (``details_ciphertext``) and the corrected values of a rectification
(``corrections_ciphertext``) are encrypted the same way. Codes and magic links are
kept as HMACs only; packages are kept encrypted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dataright.storage.base import Base
from dataright.storage.types import UTCDateTime, utcnow


class RightsRequest(Base):
    __tablename__ = "rights_requests"
    __table_args__ = (
        Index("ix_rights_requests_controller_status", "controller_id", "status", "due_on"),
        Index("ix_rights_requests_identifier", "controller_id", "identifier_kind", "identifier_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    """The controller that answers (where a NestIT account deletion is routed: the company of the account)."""
    filed_with: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    filed_by: Mapped[str] = mapped_column(String(16))
    filed_by_actor: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8))
    identifier_kind: Mapped[str] = mapped_column(String(20))
    identifier_hash: Mapped[str] = mapped_column(String(64))
    identifier_ciphertext: Mapped[bytes] = mapped_column(LargeBinary())
    details_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary(), default=None)
    corrections_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary(), default=None)
    """A rectification's corrected values (``table.field`` -> value, as JSON), encrypted like the identifier."""
    on_behalf_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    on_behalf_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    """For a guardian's request: the keyed hash of the child's identifier."""
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None, index=True)
    """The person the request is about, once verified and found (the child, for a guardian's request)."""
    guardian_subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """The first receipt anywhere in a joint arrangement: when the clock started."""
    received_on: Mapped[date] = mapped_column()
    statutory_due_on: Mapped[date] = mapped_column()
    promised_due_on: Mapped[date | None] = mapped_column(default=None)
    due_on: Mapped[date] = mapped_column()
    """The binding deadline (the earlier of the statutory and promised dates, or the extended one)."""
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    extension_reason: Mapped[str | None] = mapped_column(Text(), default=None)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    verification_method: Mapped[str | None] = mapped_column(String(24), default=None)
    assigned_to: Mapped[str | None] = mapped_column(String(200), default=None)
    """The staff member handling it (their work address, where the daily reminder goes)."""
    denial_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    fee: Mapped[str | None] = mapped_column(String(40), default=None)
    copy_kept_until: Mapped[date | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    receipts: Mapped[int] = mapped_column(Integer(), default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    parties: Mapped[list[RequestParty]] = relationship(
        back_populates="request", cascade="all, delete-orphan", lazy="selectin", order_by="RequestParty.controller_id"
    )
    tasks: Mapped[list[RequestTask]] = relationship(
        back_populates="request", cascade="all, delete-orphan", lazy="selectin", order_by="RequestTask.id"
    )

    @property
    def controller_ids(self) -> list[str]:
        return [p.controller_id for p in self.parties]


class RequestParty(Base):
    """A controller that sees and fulfils the request (every controller of a joint arrangement)."""

    __tablename__ = "request_parties"
    __table_args__ = (Index("ix_request_parties_controller", "controller_id"),)

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rights_requests.id", ondelete="CASCADE"), primary_key=True
    )
    controller_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # answering | joint
    arrangement_id: Mapped[str | None] = mapped_column(String(80), default=None)

    request: Mapped[RightsRequest] = relationship(back_populates="parties")


class RequestTask(Base):
    """One thing to do before the request is complete: a datastore to change, a recipient to notify."""

    __tablename__ = "request_tasks"
    __table_args__ = (UniqueConstraint("request_id", "controller_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(24))  # datastore | notify_recipient
    target: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    done_by: Mapped[str | None] = mapped_column(String(120), default=None)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str | None] = mapped_column(Text(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[RightsRequest] = relationship(back_populates="tasks")


class VerificationChallenge(Base):
    """A one-time code and a magic link sent to the requester; only their HMACs are kept."""

    __tablename__ = "request_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | sms
    code_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer(), default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RequestPackage(Base):
    """An access or portability package, encrypted at rest (AES-256-GCM), downloadable until it expires."""

    __tablename__ = "request_packages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(24))  # delivery | kept_after_refusal
    filename: Mapped[str] = mapped_column(String(120))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary())
    size: Mapped[int] = mapped_column(Integer())
    sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    downloads: Mapped[int] = mapped_column(Integer(), default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Disclosure(Base):
    """One disclosure or use of personal data the platform made or saw made: to whom, why, how much, when.

    The person is held as the identity domain's keyed hash only (``subject_kind`` + ``subject_hash``), so the
    log can answer "what was disclosed about this person in the past year" (PDPA s. 21(1)(b)) and "whom must
    we tell of a correction" (PDPA s. 22(2), GDPR Art. 19) without keeping who they are. A row without a
    subject counts people disclosed together (an audience export recorded as a total).
    """

    __tablename__ = "disclosures"
    __table_args__ = (
        Index("ix_disclosures_subject", "subject_hash", "disclosed_at"),
        Index("ix_disclosures_controller_time", "controller_id", "disclosed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    """A system or recipient id of the declaration, ``data_subject`` for the person themself, or a name."""
    purpose: Mapped[str | None] = mapped_column(String(80), default=None)
    subject_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    subject_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    people: Mapped[int] = mapped_column(Integer(), default=1)
    records: Mapped[int | None] = mapped_column(Integer(), default=None)
    reference: Mapped[str | None] = mapped_column(String(80), default=None)
    """What it answered or came from: a request or breach reference, an export id (never personal data)."""
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
