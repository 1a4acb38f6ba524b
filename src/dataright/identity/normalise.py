"""Normalisation of identifiers: one spelling per identity, so a hash finds it however it was typed.

* e-mail: trimmed, syntax-checked (``email-validator``, no DNS), the domain IDNA-normalised, all lower case.
  Local parts are case-sensitive in theory and never in practice; treating ``Kari@`` and ``kari@`` as two
  people would split one person's consents.
* phone: parsed with ``phonenumbers`` and written in E.164 (``+4791234567``). Numbers without a country
  code need ``region`` (ISO 3166 alpha-2, e.g. the controller's country).
* customer_id: trimmed, otherwise as given (ids are the controller's own, case may matter).
* device: the random id a cookie banner gave a browser, 8-128 characters ``[A-Za-z0-9_-]``.

Before any of this, bidirectional and zero-width characters (invisible, often pasted along) are removed and
control characters refused (``dataright.text``).

Errors name the kind and what was expected, never the value (it may end up in a log).
"""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from dataright.errors import ValidationFailed
from dataright.text import check_identifier, strip_invisible


class IdentifierKind(StrEnum):
    email = "email"
    phone = "phone"
    customer_id = "customer_id"


DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
MAX_CUSTOMER_ID = 200


def parse_kind(kind: str) -> IdentifierKind:
    try:
        return IdentifierKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in IdentifierKind)
        raise ValidationFailed(f"unknown identifier kind {kind!r}; expected one of {known}") from None


def normalise(kind: str, value: str, *, region: str | None = None) -> str:
    """The canonical spelling of an identifier of ``kind``; ``ValidationFailed`` when it is not one."""
    parsed_kind = parse_kind(kind)
    try:
        check_identifier(value)
    except ValueError as exc:
        raise ValidationFailed(f"{parsed_kind.value}: {exc}") from None
    text = strip_invisible(value).strip()
    if not text:
        raise ValidationFailed(f"{parsed_kind.value}: empty")
    if parsed_kind is IdentifierKind.email:
        try:
            return validate_email(text, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValidationFailed(f"email: not a valid e-mail address ({exc})") from None
    if parsed_kind is IdentifierKind.phone:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise ValidationFailed(
                "phone: not a phone number; expected international format like +4791234567 "
                "(or a national number together with a region)"
            ) from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationFailed("phone: not a valid number for its country")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(text) > MAX_CUSTOMER_ID:
        raise ValidationFailed(f"customer_id: longer than {MAX_CUSTOMER_ID} characters")
    return text


def normalise_device_id(device_id: str) -> str:
    if not DEVICE_ID.fullmatch(device_id):
        raise ValidationFailed("device_id: expected 8-128 characters of letters, digits, '-' or '_'")
    return device_id
