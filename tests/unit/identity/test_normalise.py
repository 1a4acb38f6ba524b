"""Identifier normalisation: one spelling per identity; errors that name the kind but not the value."""

from __future__ import annotations

import pytest

from dataright.errors import ValidationFailed
from dataright.identity.normalise import normalise, normalise_device_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Kari.Nordmann@Example.NO ", "kari.nordmann@example.no"),
        ("ola@EXAMPLE.com", "ola@example.com"),
        ("user@bücher.de", "user@bücher.de"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalise("email", raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+47 912 34 567", None, "+4791234567"),
        ("0047 91234567", "NO", "+4791234567"),
        ("912 34 567", "NO", "+4791234567"),
        ("+65 9123 4567", None, "+6591234567"),
        ("070-123 45 67", "SE", "+46701234567"),
    ],
)
def test_phone_numbers_become_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalise("phone", raw, region=region) == expected


def test_customer_ids_are_trimmed_and_keep_their_case() -> None:
    assert normalise("customer_id", "  CUST-00A1 ") == "CUST-00A1"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "not-an-address", "email: not a valid e-mail address"),
        ("phone", "98765432", "phone: not a phone number"),
        ("phone", "+47 123", "phone: not a valid number"),
        ("customer_id", "   ", "customer_id: empty"),
        ("passport", "X", "unknown identifier kind 'passport'"),
    ],
)
def test_bad_identifiers_are_refused_with_the_kind_named(kind: str, value: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        normalise(kind, value)
    if value.strip() and kind != "passport":
        assert value not in str(caught.value)


def test_device_ids_must_look_like_random_tokens() -> None:
    assert normalise_device_id("a1B2c3D4-e5_f6") == "a1B2c3D4-e5_f6"
    with pytest.raises(ValidationFailed, match="device_id"):
        normalise_device_id("short")
    with pytest.raises(ValidationFailed, match="device_id"):
        normalise_device_id("has spaces in it")
