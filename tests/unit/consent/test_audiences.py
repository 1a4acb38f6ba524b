"""E-mail normalisation and hashing for Google Customer Match and Meta Custom Audiences."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.consent.audiences import hash_email, normalise_email, plan_audience
from dataright.consent.rules import Decision, EventKind, Reason, StateView, TargetRule, follow_banner
from dataright.consent.targets import Target
from dataright.declarations.schema import Declaration, LegalBasis
from dataright.errors import NotFound, ValidationFailed


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


# -- which purposes may have an audience -----------------------------------------------------------
def test_only_a_consent_or_objectable_purpose_with_a_matching_recipient_has_an_audience(nestit: Declaration) -> None:
    controller = "nestit-group-ab"
    plan = plan_audience(nestit, controller, "google-conversion-matching", None)
    assert (plan.purpose.id, plan.recipient.id, plan.recipient.legal_name) == (
        "google-conversion-matching",
        "google-ads",
        "Google Ireland Ltd",
    )
    assert plan_audience(nestit, controller, "ad-network-matching", "meta-ads").recipient.id == "meta-ads"
    with pytest.raises(ValidationFailed, match="choose one of google-ads, meta-ads"):
        plan_audience(nestit, controller, "ad-network-matching", None)
    with pytest.raises(ValidationFailed, match="'crm' is not a matching recipient"):
        plan_audience(nestit, controller, "ad-network-matching", "crm")
    with pytest.raises(ValidationFailed, match="declares no recipient that matches audiences"):
        plan_audience(nestit, controller, "personalised-advertising", None)
    for purpose, basis in (("order-fulfilment", "contract"), ("accounting-nestit-ab", "legal_obligation")):
        with pytest.raises(ValidationFailed, match=f"rests on {basis}"):
            plan_audience(nestit, controller, purpose, None)
    with pytest.raises(NotFound):
        plan_audience(nestit, controller, "nope", None)


def test_a_later_refusal_of_a_cookie_category_withdraws_the_banner_purpose() -> None:
    rule = TargetRule(target=Target.purpose("p"), basis=LegalBasis.consent, purpose_id="p")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    at = [datetime(2026, 5, d, tzinfo=UTC) for d in (1, 2, 3)]
    given = StateView(EventKind.given, 10, None, False, at[1])
    assert follow_banner(rule, given, [None], now=now).allowed
    assert follow_banner(rule, given, [StateView(EventKind.given, 11, None, False, at[2])], now=now).allowed
    withdrawn = StateView(EventKind.withdrawn, 12, None, False, at[2])
    assert follow_banner(rule, given, [withdrawn], now=now) == Decision(
        False, LegalBasis.consent, Reason.consent_withdrawn, 12
    )
    earlier_refusal = StateView(EventKind.refused, 9, None, False, at[0])
    assert follow_banner(rule, given, [earlier_refusal], now=now).allowed  # consent given after it stands
    assert not follow_banner(rule, None, [StateView(EventKind.given, 11, None, False, at[2])], now=now).allowed
