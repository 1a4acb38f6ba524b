"""Request and response bodies of the consent API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator

from dataright.bounds import check_birth_date, check_occurred_at
from dataright.consent.models import ConsentEvent
from dataright.consent.rules import Decision, EventKind, Method
from dataright.consent.targets import Target
from dataright.declarations.schema import Channel, CookieCategory, LegalBasis
from dataright.errors import Problem, ValidationFailed
from dataright.identity.normalise import DEVICE_ID
from dataright.text import (
    IDENTIFIER_PATTERN,
    LINE_PATTERN,
    NOTE_PATTERN,
    TEXT_PATTERN,
    check_identifier,
    check_line,
    check_note,
    check_text,
)

MAX_TEXT = 100_000
MAX_BATCH = 1000
KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"

# Strings from outside: one line, multi-line text, an identifier as typed, a note stored in clear (see dataright.text)
Line = Annotated[str, AfterValidator(check_line), Field(json_schema_extra={"pattern": LINE_PATTERN})]
Text = Annotated[str, AfterValidator(check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]
Identifier = Annotated[
    str, AfterValidator(check_identifier), Field(min_length=1, json_schema_extra={"pattern": IDENTIFIER_PATTERN})
]
Note = Annotated[
    str,
    AfterValidator(check_note),
    Field(
        json_schema_extra={"pattern": NOTE_PATTERN},
        description="Where the consent came from (a form, a campaign). Stored in clear: it must name no person, "
        "so no e-mail address ('@') and no phone number (7 or more digits in a run; ISO dates are fine).",
    ),
]
Key = Annotated[str, Field(pattern=KEY_PATTERN, max_length=80)]
DeviceId = Annotated[
    str, Field(pattern=DEVICE_ID.pattern, description="The random id a cookie banner keeps for a browser.")
]


def _null(*names: str) -> dict[str, Any]:
    return {name: {"type": "null"} for name in names}


# "exactly one of purpose, cookie or topic (with channel)", as the server checks it (absent and null alike)
TARGET_ONE_OF: list[dict[str, Any]] = [
    {"required": ["purpose"], "properties": {"purpose": {"type": "string"}, **_null("cookie", "topic", "channel")}},
    {"required": ["cookie"], "properties": {"cookie": {"type": "string"}, **_null("purpose", "topic", "channel")}},
    {
        "required": ["topic", "channel"],
        "properties": {"topic": {"type": "string"}, "channel": {"type": "string"}, **_null("purpose", "cookie")},
    },
]


def _all_of(*one_ofs: list[dict[str, Any]]) -> dict[str, JsonValue]:
    all_of: list[JsonValue] = [{"oneOf": list(one_of)} for one_of in one_ofs]
    return {"allOf": all_of}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetFields(_In):
    """Exactly one of ``purpose``, ``cookie`` (a category) or ``topic`` with ``channel``."""

    purpose: Key | None = Field(None, examples=["analytics"])
    cookie: CookieCategory | None = None
    topic: Key | None = None
    channel: Channel | None = None

    @model_validator(mode="after")
    def _one_target(self) -> TargetFields:
        named = [n for n in ("purpose", "cookie", "topic") if getattr(self, n) is not None]
        if len(named) != 1:
            raise ValueError("give exactly one of purpose, cookie or topic (with channel)")
        if self.channel is not None and self.topic is None:
            raise ValueError("channel: only with a topic")
        if self.topic is not None and self.channel is None:
            raise ValueError(f"topic {self.topic!r} needs a channel")
        return self

    def target(self) -> Target:
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


def _birth_date(value: date | None) -> date | None:
    return check_birth_date(value) if value is not None else None


def _occurred_at(value: datetime | None) -> datetime | None:
    return check_occurred_at(value) if value is not None else None


SUBJECT_ANY_OF: list[JsonValue] = [
    {"required": [name], "properties": {name: {"type": "string"}}}
    for name in ("subject_id", "email", "phone", "customer_id")
]


class SubjectRef(_In):
    """A subject by id, or by identifiers (found, or created when recording)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": SUBJECT_ANY_OF})

    subject_id: uuid.UUID | None = None
    email: Annotated[Identifier, Field(max_length=320)] | None = None
    phone: Annotated[Identifier, Field(max_length=40)] | None = None
    customer_id: Annotated[Identifier, Field(max_length=200)] | None = None
    birth_date: Annotated[date | None, AfterValidator(_birth_date)] = Field(
        None, description="Not in the future, not before 1900."
    )

    @model_validator(mode="after")
    def _someone(self) -> SubjectRef:
        if self.subject_id is None and not self.identifiers():
            raise ValueError("give subject_id or at least one of email, phone, customer_id")
        return self

    def identifiers(self) -> dict[str, str]:
        return {k: v for k, v in (("email", self.email), ("phone", self.phone), ("customer_id", self.customer_id)) if v}


class ProofIn(_In):
    """What the person was shown: the exact text (hashed on arrival, never stored) or its SHA-256."""

    text: Annotated[Text, Field(max_length=MAX_TEXT)] | None = None
    text_hash: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", max_length=16)] | None = Field(
        None, examples=["nb"]
    )


HOLDER_ONE_OF: list[dict[str, Any]] = [
    {"required": ["subject"], "properties": {"subject": {"type": "object"}, **_null("device_id")}},
    {"required": ["device_id"], "properties": {"device_id": {"type": "string"}, **_null("subject")}},
]


class EventIn(TargetFields):
    """One consent event: what it is about (exactly one of purpose, cookie or topic with channel) and whose
    it is (exactly one of subject and device_id)."""

    model_config = ConfigDict(json_schema_extra=_all_of(TARGET_ONE_OF, HOLDER_ONE_OF))

    subject: SubjectRef | None = None
    device_id: DeviceId | None = Field(None, description="The banner's device id, instead of a subject.")
    kind: EventKind
    method: Method = Method.api
    occurred_at: Annotated[AwareDatetime | None, AfterValidator(_occurred_at)] = Field(
        None, description="When it happened (default: now); not before 1970, at most a day ahead."
    )
    notice_version: Annotated[Line, Field(max_length=40)] | None = None
    source: Annotated[Note, Field(max_length=200)] | None = None
    proof: ProofIn | None = None
    guardian: SubjectRef | None = Field(None, description="The linked guardian acting, with method 'guardian'.")
    import_key: Annotated[Line, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_holder(self) -> EventIn:
        if (self.subject is None) == (self.device_id is None):
            raise ValueError("give exactly one of subject and device_id")
        return self


class CheckQuery(TargetFields):
    """The query of ``GET /api/v1/consent/check``: a subject or a device, and one target. Other query
    parameters (``controller``) belong to the route and are left alone here."""

    model_config = ConfigDict(extra="ignore")

    subject_id: uuid.UUID | None = None
    device_id: DeviceId | None = Field(None, description="The banner's device id.")


CHECK_HOLDERS = ("subject_id", "device_id", "email", "phone", "customer_id")
CHECK_HOLDER_ONE_OF: list[dict[str, Any]] = [
    {"required": [name], "properties": {name: {"type": "string"}, **_null(*(n for n in CHECK_HOLDERS if n != name))}}
    for name in CHECK_HOLDERS
]


class CheckItem(TargetFields):
    """One check: exactly one target, and exactly one of subject_id, device_id, email, phone or customer_id."""

    model_config = ConfigDict(json_schema_extra=_all_of(TARGET_ONE_OF, CHECK_HOLDER_ONE_OF))

    subject_id: uuid.UUID | None = None
    device_id: DeviceId | None = None
    email: Annotated[Identifier, Field(max_length=320)] | None = None
    phone: Annotated[Identifier, Field(max_length=40)] | None = None
    customer_id: Annotated[Identifier, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_holder(self) -> CheckItem:
        if sum(getattr(self, n) is not None for n in CHECK_HOLDERS) != 1:
            raise ValueError("give exactly one of subject_id, device_id, email, phone or customer_id")
        return self

    def identifier(self) -> tuple[str, str] | None:
        given = [(k, v) for k in ("email", "phone", "customer_id") if (v := getattr(self, k)) is not None]
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


class ItemProblem(BaseModel):
    """An item of a batch that could not be answered, with its own problem (the other items are answered)."""

    problem: Problem


class BatchOut(BaseModel):
    results: list[DecisionOut | ItemProblem] = Field(description="One per item, in order.")


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
    controller: Key
    device_id: DeviceId
    accepted: list[CookieCategory] = Field(max_length=len(CookieCategory))
    notice_version: Annotated[Line, Field(max_length=40)] | None = None
    proof: ProofIn | None = None
    banner_revision: Annotated[str, Field(pattern=r"^[0-9a-f]{8,64}$")] | None = Field(
        None,
        description="The revision of the banner the choice was made in (`/banner/{controller}.js`).",
        examples=["3fa2c1d0"],
    )
    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", max_length=16)] | None = Field(
        None, description="The language the banner was shown in.", examples=["nb"]
    )
    gpc: bool = Field(
        False,
        description="The browser sent Global Privacy Control (`navigator.globalPrivacyControl`); "
        "`Sec-GPC: 1` counts too.",
    )


class CookieConsentOut(BaseModel):
    device_id: str = Field(description="The device id the banner sent, echoed so it can confirm what was stored.")
    events: list[EventOut]


class ChoiceIn(_In):
    topic: Key
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
    device_id: DeviceId
    subject_id: uuid.UUID


class UnsubscribeLinkOut(BaseModel):
    url: str
    headers: dict[str, str]


class UnsubscribeOut(BaseModel):
    status: Literal["unsubscribed", "already_unsubscribed"]
    event_id: int | None
