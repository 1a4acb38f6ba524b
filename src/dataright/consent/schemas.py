"""Request and response bodies of the consent API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dataright.consent.models import ConsentEvent
from dataright.consent.rules import Decision, EventKind, Method
from dataright.consent.targets import Target
from dataright.declarations.schema import Channel, CookieCategory, LegalBasis
from dataright.errors import ValidationFailed

MAX_TEXT = 100_000
MAX_BATCH = 1000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TargetFields(_In):
    """Exactly one of ``purpose``, ``cookie`` (a category) or ``topic`` with ``channel``."""

    purpose: str | None = Field(None, max_length=80, examples=["analytics"])
    cookie: CookieCategory | None = None
    topic: str | None = Field(None, max_length=80)
    channel: Channel | None = None

    def target(self) -> Target:
        named = [n for n in ("purpose", "cookie", "topic") if getattr(self, n)]
        if len(named) != 1:
            raise ValidationFailed("give exactly one of purpose, cookie or topic (with channel)")
        if self.channel is not None and self.topic is None:
            raise ValidationFailed("channel: only with a topic")
        try:
            if self.purpose:
                return Target.purpose(self.purpose)
            if self.cookie:
                return Target.cookie(self.cookie)
            if self.channel is None:
                raise ValidationFailed(f"topic {self.topic!r} needs a channel")
            return Target.topic(str(self.topic), self.channel)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None


class SubjectRef(_In):
    """A subject by id, or by identifiers (found, or created when recording)."""

    subject_id: uuid.UUID | None = None
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    customer_id: str | None = Field(None, max_length=200)
    birth_date: date | None = None

    def identifiers(self) -> dict[str, str]:
        return {k: v for k, v in (("email", self.email), ("phone", self.phone), ("customer_id", self.customer_id)) if v}


class ProofIn(_In):
    """What the person was shown: the exact text (hashed on arrival, never stored) or its SHA-256."""

    text: str | None = Field(None, max_length=MAX_TEXT)
    text_hash: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=16, examples=["nb"])


class EventIn(TargetFields):
    subject: SubjectRef | None = None
    device_id: str | None = Field(None, max_length=128, description="The banner's device id, instead of a subject.")
    kind: EventKind
    method: Method = Method.api
    occurred_at: AwareDatetime | None = None
    notice_version: str | None = Field(None, max_length=40)
    source: str | None = Field(None, max_length=200)
    proof: ProofIn | None = None
    guardian: SubjectRef | None = Field(None, description="The linked guardian acting, with method 'guardian'.")
    import_key: str | None = Field(None, max_length=200)


class CheckQuery(TargetFields):
    """The query of ``GET /api/v1/consent/check``: a subject or a device, and one target. Other query
    parameters (``controller``) belong to the route and are left alone here."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject_id: uuid.UUID | None = None
    device_id: str | None = Field(None, max_length=128, description="The banner's device id.")


class CheckItem(TargetFields):
    subject_id: uuid.UUID | None = None
    device_id: str | None = Field(None, max_length=128)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    customer_id: str | None = Field(None, max_length=200)

    def identifier(self) -> tuple[str, str] | None:
        given = [
            (k, v) for k, v in (("email", self.email), ("phone", self.phone), ("customer_id", self.customer_id)) if v
        ]
        if len(given) > 1:
            raise ValidationFailed("give one identifier per item (email, phone or customer_id)")
        return given[0] if given else None


class BatchIn(_In):
    items: list[CheckItem] = Field(min_length=1, max_length=MAX_BATCH)


class DecisionOut(BaseModel):
    target: str
    allowed: bool
    basis: LegalBasis | None
    reason: str
    event_id: int | None

    @classmethod
    def of(cls, target: Target, decision: Decision) -> DecisionOut:
        return cls(
            target=target.code,
            allowed=decision.allowed,
            basis=decision.basis,
            reason=decision.reason.value,
            event_id=decision.event_id,
        )


class BatchOut(BaseModel):
    results: list[DecisionOut]


class EventOut(BaseModel):
    id: int
    receipt_id: uuid.UUID
    controller_id: str
    subject_id: uuid.UUID | None
    device_id: uuid.UUID | None
    target: str
    kind: str
    reason: str | None
    method: str
    occurred_at: datetime
    recorded_at: datetime
    notice_version: str
    source: str | None
    receipt: dict[str, Any]

    @classmethod
    def of(cls, event: ConsentEvent) -> EventOut:
        return cls.model_validate(event, from_attributes=True)


class HistoryOut(BaseModel):
    subject_id: uuid.UUID
    events: list[EventOut]


class CookieConsentIn(_In):
    controller: str = Field(max_length=80)
    device_id: str = Field(min_length=8, max_length=128, description="The random id the banner keeps in its cookie.")
    accepted: list[CookieCategory] = Field(max_length=len(CookieCategory))
    notice_version: str | None = Field(None, max_length=40)
    proof: ProofIn | None = None


class CookieConsentOut(BaseModel):
    events: list[EventOut]


class ChoiceIn(_In):
    topic: str = Field(max_length=80)
    channel: Channel
    enabled: bool


class PreferencesIn(_In):
    choices: list[ChoiceIn] = Field(min_length=1, max_length=200)
    method: Method = Method.web_form
    proof: ProofIn | None = None


class PreferenceOut(BaseModel):
    topic: str
    channel: str
    allowed: bool
    basis: LegalBasis | None
    reason: str
    event_id: int | None
    changeable: bool


class PreferencesOut(BaseModel):
    subject_id: uuid.UUID
    preferences: list[PreferenceOut]


class LinkDeviceIn(_In):
    device_id: str = Field(min_length=8, max_length=128)
    subject_id: uuid.UUID


class UnsubscribeLinkOut(BaseModel):
    url: str
    headers: dict[str, str]


class UnsubscribeOut(BaseModel):
    status: Literal["unsubscribed", "already_unsubscribed"]
    event_id: int | None
