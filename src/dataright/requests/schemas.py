"""Request and response bodies of the requests API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from dataright.consent.schemas import EventOut, PreferenceOut
from dataright.errors import ValidationFailed
from dataright.requests.lifecycle import Channel, DenialReason
from dataright.requests.models import Disclosure, RequestTask, RightsRequest

MAX_DETAILS = 4000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IdentifiersIn(_In):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    customer_id: str | None = Field(None, max_length=200)

    def identifiers(self) -> dict[str, str]:
        return {k: v for k, v in (("email", self.email), ("phone", self.phone), ("customer_id", self.customer_id)) if v}

    def one(self, field: str) -> tuple[str, str]:
        given = self.identifiers()
        if len(given) != 1:
            raise ValidationFailed(f"{field}: give exactly one of email, phone, customer_id")
        return next(iter(given.items()))


class RequestIn(_In):
    """A person's request (public), or a guardian's for a linked child (with ``on_behalf_of``)."""

    controller: str = Field(max_length=80, examples=["nexalearn"])
    type: str = Field(max_length=40, examples=["access"])
    email: str | None = Field(None, max_length=320, description="Where the code and the answer go.")
    phone: str | None = Field(None, max_length=40, description="Instead of e-mail, where SMS codes are configured.")
    language: str | None = Field(None, max_length=8, examples=["nb"])
    details: str | None = Field(None, max_length=MAX_DETAILS, description="What the request is about, in words.")
    on_behalf_of: IdentifiersIn | None = Field(None, description="A guardian: the child's e-mail, phone or id.")
    registered_with: str | None = Field(
        None, max_length=80, description="An account deletion in a group: the company where the account is."
    )
    corrections: dict[str, str] | None = Field(
        None,
        max_length=20,
        description="A rectification: the corrected values, ``table.field`` (or ``dataset.table.field``) -> the "
        "value. Kept encrypted; applied by the engine once staff start the request.",
        examples=[{"customers.phone": "+4791234567"}],
    )

    def contact(self) -> tuple[str, str]:
        if (self.email is None) == (self.phone is None):
            raise ValidationFailed("give exactly one of email and phone: where we reply to you")
        return ("email", self.email) if self.email is not None else ("phone", self.phone or "")


class StaffRequestIn(RequestIn):
    """A request staff take down for a person (phone call, letter, e-mail); the channel is recorded."""

    controller: str | None = Field(None, max_length=80, description="Defaults to the controller of the query.")  # type: ignore[assignment]
    channel: Channel
    verified_reason: str | None = Field(
        None, max_length=1000, description="Staff already checked who the person is: how (audited)."
    )


class ReceiptOut(BaseModel):
    """What a requester is told, the same whether or not the controller knows them."""

    reference: str
    status: str
    message: str


class CodeIn(_In):
    code: str = Field(min_length=1, max_length=12)


class VerifiedOut(BaseModel):
    reference: str
    status: str
    outcome: str = "verified"


class TaskOut(BaseModel):
    id: int
    controller_id: str
    kind: str
    target: str
    label: str
    status: str
    done_by: str | None
    done_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, task: RequestTask) -> TaskOut:
        return cls.model_validate(task, from_attributes=True)


class RequestOut(BaseModel):
    id: uuid.UUID
    reference: str
    controller_id: str
    parties: list[str]
    filed_with: str
    type: str
    status: str
    channel: str
    filed_by: str
    language: str
    subject_id: uuid.UUID | None
    received_at: datetime
    received_on: date
    statutory_due_on: date
    promised_due_on: date | None
    due_on: date
    receipts: int
    extended_at: datetime | None
    extension_reason: str | None
    verified_at: datetime | None
    verification_method: str | None
    assigned_to: str | None
    denial_reason: str | None
    fee: str | None
    copy_kept_until: date | None
    closed_at: datetime | None
    has_details: bool = Field(
        description="The person wrote about the request in words: staff read it at GET .../{ref}/details."
    )
    tasks: list[TaskOut]

    @classmethod
    def of(cls, request: RightsRequest) -> RequestOut:
        computed = ("parties", "tasks", "has_details")
        fields = {name: getattr(request, name) for name in cls.model_fields if name not in computed}
        return cls(
            **fields,
            parties=request.controller_ids,
            has_details=request.details_ciphertext is not None,
            tasks=[TaskOut.of(t) for t in request.tasks],
        )


class DetailsOut(BaseModel):
    """What the person wrote about their request, in their words (personal data: staff of the controller only)."""

    reference: str
    details: str


class RequestListOut(BaseModel):
    requests: list[RequestOut]


class AssignIn(_In):
    to: str = Field(max_length=320, description="The staff member's work e-mail address.")


class CorrectionsIn(_In):
    corrections: dict[str, str] = Field(
        min_length=1,
        max_length=20,
        description="``table.field`` (or ``dataset.table.field``) -> the corrected value; replaces earlier ones.",
        examples=[{"customers.phone": "+4791234567"}],
    )


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class ExtendIn(_In):
    reason: str = Field(min_length=1, max_length=1000, description="Told to the person with the new date.")
    until: date | None = Field(None, description="The new date; default: the longest the law and the promise allow.")


class DenyIn(_In):
    reason: DenialReason
    note: str | None = Field(None, max_length=1000, description="Told to the person.")
    fee: str | None = Field(None, max_length=40, description="Only for manifestly unfounded or excessive requests.")


class TaskDoneIn(_In):
    note: str | None = Field(None, max_length=1000)


class WithdrawIn(_In):
    reason: str | None = Field(None, max_length=1000)


class LookupOut(BaseModel):
    subject_id: uuid.UUID | None
    requests: list[RequestOut]
    consents: list[EventOut]
    preferences: list[PreferenceOut]


class DisclosureOut(BaseModel):
    """One row of the disclosure log; the person appears as a keyed hash at most."""

    id: int
    controller_id: str
    kind: str
    recipient: str
    purpose: str | None
    subject_kind: str | None
    subject_hash: str | None
    people: int
    records: int | None
    reference: str | None
    disclosed_at: datetime
    actor: str

    @classmethod
    def of(cls, row: Disclosure) -> DisclosureOut:
        return cls.model_validate(row, from_attributes=True)


class DisclosureListOut(BaseModel):
    disclosures: list[DisclosureOut]
