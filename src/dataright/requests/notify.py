"""The messages a request sends, written to the mail outbox in the caller's transaction (``mail.service``).

Each function builds one template's context from the request and the declaration; dates are ISO
``YYYY-MM-DD``. A dedupe key per request and event makes a retried state change enqueue nothing twice.
A requester known only by a phone number got their code by SMS and has no address to mail: staff answer
them on the channel they came by (the request records it), so nothing is enqueued for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from dataright.declarations.schema import Declaration
from dataright.identity.crypto import decrypt
from dataright.mail import service as mail
from dataright.requests.models import RightsRequest


def _iso(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def recipient(request: RightsRequest) -> str:
    """The requester's address, decrypted for the outbox (which encrypts it again at rest)."""
    return decrypt(request.filed_with, request.identifier_kind, request.identifier_ciphertext)


def controller_name(declaration: Declaration, controller_id: str) -> str:
    return declaration.controller_by_id[controller_id].name


def _send(
    session: Session,
    declaration: Declaration,
    request: RightsRequest,
    template: str,
    event: str,
    context: Mapping[str, Any],
) -> None:
    if request.identifier_kind != "email":
        return
    mail.enqueue(
        session,
        controller_id=request.controller_id,
        to=recipient(request),
        template=template,
        language=request.language,
        context={
            "controller_name": controller_name(declaration, request.controller_id),
            "request_reference": request.reference,
            **context,
        },
        dedupe_key=f"request:{request.id}:{event}",
    )


def verification(
    session: Session,
    declaration: Declaration,
    request: RightsRequest,
    *,
    code: str,
    link: str,
    expires_on: date,
    n: int,
) -> None:
    _send(
        session,
        declaration,
        request,
        "request_verification",
        f"verification:{n}",
        {"code": code, "link": link, "expires_at": _iso(expires_on)},
    )


def received(session: Session, declaration: Declaration, request: RightsRequest) -> None:
    _send(
        session,
        declaration,
        request,
        "request_received",
        "received",
        {
            "request_type": request.type,
            "received_on": _iso(request.received_on),
            "deadline": _iso(request.due_on),
            "statutory_deadline": _iso(request.statutory_due_on),
            "promised_deadline": _iso(request.promised_due_on),
        },
    )


def extended(session: Session, declaration: Declaration, request: RightsRequest) -> None:
    _send(
        session,
        declaration,
        request,
        "request_extended",
        "extended",
        {"new_deadline": _iso(request.due_on), "reason": request.extension_reason or ""},
    )


def completed(
    session: Session,
    declaration: Declaration,
    request: RightsRequest,
    *,
    download_link: str,
    link_expires_on: date | None,
    kept_items: Sequence[Mapping[str, str]],
) -> None:
    _send(
        session,
        declaration,
        request,
        "request_completed",
        "completed",
        {
            "request_type": request.type,
            "download_link": download_link,
            "link_expires_at": _iso(link_expires_on),
            "kept_items": [dict(item) for item in kept_items],
        },
    )


def denied(
    session: Session,
    declaration: Declaration,
    request: RightsRequest,
    *,
    reason: str,
    note: str | None,
    authority_name: str,
    authority_url: str,
) -> None:
    """The refusal: the reason's code (translated in the template), staff's own words to the person if any."""
    _send(
        session,
        declaration,
        request,
        "request_denied",
        "denied",
        {
            "reason": reason,
            "note": note or "",
            "authority_name": authority_name,
            "authority_url": authority_url,
            "fee": request.fee or "",
        },
    )


def expired(session: Session, declaration: Declaration, request: RightsRequest) -> None:
    """The request was never confirmed: it expired and nothing was done."""
    _send(
        session,
        declaration,
        request,
        "request_expired",
        "expired",
        {"request_type": request.type, "received_on": _iso(request.received_on)},
    )


def reminder(
    session: Session,
    *,
    controller_id: str,
    controller: str,
    to: str,
    language: str,
    due: list[dict[str, str]],
    day: date,
) -> None:
    """One staff member's reminder for the day; the dedupe key carries a hash of the address, not the address."""
    who = hashlib.sha256(to.encode()).hexdigest()[:16]
    mail.enqueue(
        session,
        controller_id=controller_id,
        to=to,
        template="request_reminder",
        language=language,
        context={"controller_name": controller, "due": due},
        dedupe_key=f"request-reminder:{controller_id}:{who}:{day.isoformat()}",
    )
