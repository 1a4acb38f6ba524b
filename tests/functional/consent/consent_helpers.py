"""Builders shared by the consent tests: subjects with unique identities, the examples' controllers."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.orm import Session

from dataright.identity import service as identity
from dataright.identity.models import Subject

NEXALEARN = "nexalearn"
NESTIT = "nestit-group-ab"
NESTPROS = "nestpros"


def email() -> str:
    return f"person.{uuid.uuid4().hex[:10]}@example.org"


def new_subject(
    session: Session,
    controller_id: str,
    *,
    address: str | None = None,
    birth_date: date | None = None,
    phone: str | None = None,
) -> Subject:
    identifiers = {"email": address or email()}
    if phone is not None:
        identifiers["phone"] = phone
    return identity.get_or_create_subject(
        session, controller_id=controller_id, identifiers=identifiers, birth_date=birth_date
    )


def device_token() -> str:
    return f"dev_{uuid.uuid4().hex}"
