"""Subjects, their identifiers, guardian links and devices.

No column holds an identifier in clear: ``SubjectIdentifier.hash`` is an HMAC-SHA256 of the normalised value
under a key derived from the secret key (for lookup), ``ciphertext`` is AES-256-GCM (so staff can contact the
person). Device ids from cookie banners are hashed the same way.

``Subject.birth_date`` is a plain date, on purpose: it is not an identifier used for lookup or contact, the
rows are keyed by random UUIDs, and the age rules need it inside the database (who reaches the consent age
this month, which children's data a retention rule covers) where a ciphertext could not be compared.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dataright.storage.base import Base
from dataright.storage.types import UTCDateTime, utcnow


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    controller_id: Mapped[str] = mapped_column(String(80), index=True)
    birth_date: Mapped[date | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    identifiers: Mapped[list[SubjectIdentifier]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )


class SubjectIdentifier(Base):
    __tablename__ = "subject_identifiers"
    __table_args__ = (UniqueConstraint("controller_id", "kind", "hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    hash: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    subject: Mapped[Subject] = relationship(back_populates="identifiers")


class GuardianLink(Base):
    """A verified statement that one subject (a parent, a legal guardian) acts for another (a child)."""

    __tablename__ = "guardian_links"
    __table_args__ = (
        UniqueConstraint("guardian_subject_id", "child_subject_id"),
        CheckConstraint("guardian_subject_id <> child_subject_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    guardian_subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    child_subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(40))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Device(Base):
    """A browser or app known only by the random id a cookie banner gave it; linked to a subject on login."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("controller_id", "token_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    controller_id: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subjects.id", ondelete="SET NULL"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Suppression(Base):
    """A person who asked to be erased, kept as the keyed hash of one identifier only (no ciphertext, no
    subject): enough to recognise them when an import or a mailing list brings them back, nothing more."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("controller_id", "kind", "hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    controller_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
