"""Request and response bodies of the breach API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dataright.breach.models import Risk


class BreachIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    occurred_at: AwareDatetime
    aware_at: AwareDatetime
    description: str = Field(min_length=1, max_length=20_000)
    systems: list[str] = Field(min_length=1)
    categories: list[str] = Field(min_length=1)
    affected_people: int
    affected_people_estimated: bool = False
    affected_records: int | None = None
    affected_records_estimated: bool = False
    likely_consequences: str = Field(min_length=1, max_length=20_000)
    measures: str = Field(min_length=1, max_length=20_000)
    contact: str | None = None


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessed_on: date | None = None
    risk: Risk | None = None
    significant_harm: bool | None = None
    reason: str | None = None
    individuals_exemption: str | None = None


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sent_at: AwareDatetime
    delay_reason: str | None = None
    note: str | None = None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    likely_consequences: str
    measures: str
    contact: str
    advice: str = ""


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str
    language: str


class SubjectNoticesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[RecipientIn] = Field(min_length=1, max_length=100_000)
    messages: dict[str, MessageIn]


class DeadlineOut(BaseModel):
    clock: str
    due: datetime | None
    state: str
    reference: str
    rule: str


class BreachOut(BaseModel):
    id: uuid.UUID
    reference: str
    controller_id: str
    jurisdiction: str
    timezone: str
    status: str
    occurred_at: datetime
    aware_at: datetime
    systems: list[str]
    categories: list[str]
    affected_people: int
    affected_people_estimated: bool
    affected_records: int | None
    notifiable: bool | None
    notifiable_because: list[str]
    individuals_required: bool | None
    authority_notified_at: datetime | None
    individuals_notified_at: datetime | None
    linked: list[str]
    deadlines: list[DeadlineOut]


class QueuedOut(BaseModel):
    queued: int
