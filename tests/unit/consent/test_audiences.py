"""E-mail normalisation and hashing for Google Customer Match and Meta Custom Audiences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.consent.audiences import hash_email, normalise_email


def test_the_hash_is_sha256_hex_of_the_trimmed_lowercased_address() -> None:
    expected = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"  # sha256("test@example.com")
    assert hash_email("test@example.com") == expected
    assert hash_email("  Test@Example.COM \n") == expected


def test_gmail_addresses_are_not_rewritten() -> None:
    assert normalise_email("Jane.Doe+ads@Gmail.com") == "jane.doe+ads@gmail.com"
    assert hash_email("Jane.Doe+ads@Gmail.com") == "9b06cd4a9bbe4f3904f97ce967b42af140b94b7e11d380cad7b8140863692839"


@given(st.emails())
def test_normalising_is_idempotent(address: str) -> None:
    once = normalise_email(address)
    assert normalise_email(once) == once
    assert len(hash_email(address)) == 64


@pytest.mark.parametrize("bad", ["", "   ", "no-at-sign", "@example.com", "a@", "a b@example.com", "a@b@c"])
def test_non_addresses_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        normalise_email(bad)
    assert str(info.value) == "not an e-mail address"
