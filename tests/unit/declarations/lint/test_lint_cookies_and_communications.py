"""Rules on cookies (consent before non-necessary storage) and messages (a way out of each)."""

from __future__ import annotations


# -- cookie-without-consent -----------------------------------------------------------------------
def test_a_non_necessary_cookie_without_a_consent_purpose_is_an_error(draft) -> None:
    [finding] = draft.item("cookies", "_ga", field="name", consent_purpose=None).findings("cookie-without-consent")
    assert finding.path == ("cookies", 4, "consent_purpose")
    assert "performance cookie '_ga' is not strictly necessary" in finding.message
    # Consent to cookies is the ePrivacy Directive's, in the GDPR's sense of consent; not a legal basis of Art. 6.
    assert finding.reference == "ePrivacy Directive Art. 5(3), with consent as defined in GDPR Art. 4(11) and 7"


def test_a_cookie_under_a_purpose_not_based_on_consent_is_an_error(draft) -> None:
    changed = draft.item("cookies", "_ga", field="name", consent_purpose="personalisation")
    [finding] = changed.findings("cookie-without-consent")
    assert "set under purpose 'personalisation', which relies on legitimate_interests" in finding.message


def test_strictly_necessary_cookies_need_no_consent(draft) -> None:
    changed = draft.item("cookies", "_ga", field="name", consent_purpose=None, category="strictly_necessary")
    assert changed.findings("cookie-without-consent") == []


def test_the_eprivacy_rule_applies_to_gdpr_controllers_only(under_pdpa) -> None:
    changed = under_pdpa.item("cookies", "_ga", field="name", consent_purpose=None)
    assert changed.findings("cookie-without-consent") == []


# -- communication-without-unsubscribe ------------------------------------------------------------
def test_a_consent_based_topic_without_unsubscribe_is_an_error(draft) -> None:
    changed = draft.item("communication_topics", "service-messages", legal_basis="consent")
    [finding] = changed.findings("communication-without-unsubscribe")
    assert finding.path == ("communication_topics", 0, "unsubscribe")


def test_direct_marketing_by_email_without_unsubscribe_is_an_error(draft) -> None:
    changed = draft.purpose("personalisation", direct_marketing=True).item(
        "communication_topics", "birthday-greetings", unsubscribe=()
    )
    [finding] = changed.findings("communication-without-unsubscribe")
    assert "sends direct marketing by email with no unsubscribe" in finding.message


def test_direct_marketing_by_post_is_not_an_electronic_message(draft) -> None:
    changed = draft.purpose("personalisation", direct_marketing=True).item(
        "communication_topics", "birthday-greetings", unsubscribe=(), channels=("post",)
    )
    assert changed.findings("communication-without-unsubscribe") == []


def test_service_messages_under_a_contract_need_no_unsubscribe(draft) -> None:
    assert draft.findings("communication-without-unsubscribe") == []
