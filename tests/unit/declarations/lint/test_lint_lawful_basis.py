"""Rules on legal bases: one exists, the law knows it, and what it demands is declared."""

from __future__ import annotations

from dataright.declarations.periods import Period

P12M = Period.parse("P12M")


# -- purpose-without-legal-basis -------------------------------------------------------------------
def test_a_purpose_without_legal_basis_is_an_error(draft) -> None:
    [finding] = draft.purpose("payment", legal_basis=None).findings("purpose-without-legal-basis")
    assert finding.path == ("purposes", 2, "legal_basis")
    assert "'payment' names no legal basis" in finding.message


def test_purposes_with_legal_bases_pass(draft) -> None:
    assert draft.findings("purpose-without-legal-basis") == []


# -- legal-basis-not-available ---------------------------------------------------------------------
def test_deemed_consent_is_not_a_gdpr_basis(draft) -> None:
    [finding] = draft.purpose("analytics", legal_basis="deemed_consent").findings("legal-basis-not-available")
    assert finding.path == ("purposes", 5, "legal_basis")
    assert "deemed_consent which GDPR (gdpr-no) does not provide" in finding.message


def test_public_task_is_not_a_pdpa_basis(under_pdpa) -> None:
    [finding] = under_pdpa.purpose("security", legal_basis="public_task").findings("legal-basis-not-available")
    assert "public_task which PDPA (pdpa-sg) does not provide" in finding.message


def test_a_communication_topic_basis_is_checked_too(draft) -> None:
    changed = draft.item("communication_topics", "birthday-greetings", legal_basis="business_improvement")
    [finding] = changed.findings("legal-basis-not-available")
    assert finding.path == ("communication_topics", 1, "legal_basis")


def test_deemed_consent_under_the_pdpa_passes(under_pdpa) -> None:
    assert under_pdpa.purpose("analytics", legal_basis="deemed_consent").findings("legal-basis-not-available") == []


# -- consent-without-withdrawal --------------------------------------------------------------------
def test_consent_without_a_withdrawal_method_is_an_error(draft) -> None:
    changed = draft.purpose("analytics", consent={"withdrawal": (), "lifetime": P12M})
    [finding] = changed.findings("consent-without-withdrawal")
    assert finding.path == ("purposes", 5, "consent", "withdrawal")


def test_consent_with_no_consent_settings_at_all_is_an_error(draft) -> None:
    assert len(draft.purpose("analytics", consent=None).findings("consent-without-withdrawal")) == 1


def test_consent_with_a_withdrawal_method_passes(draft) -> None:
    assert draft.findings("consent-without-withdrawal") == []


# -- consent-settings-without-consent-basis ---------------------------------------------------------
def test_consent_settings_on_a_contract_purpose_are_a_warning(draft) -> None:
    changed = draft.purpose("payment", consent={"withdrawal": ("email",), "lifetime": P12M})
    [finding] = changed.findings("consent-settings-without-consent-basis")
    assert finding.path == ("purposes", 2, "consent")
    assert finding.severity == "warning"


def test_consent_settings_on_consent_purposes_pass(draft) -> None:
    assert draft.findings("consent-settings-without-consent-basis") == []


# -- legitimate-interest-without-objection ----------------------------------------------------------
def test_legitimate_interests_without_objection_handling_is_an_error_under_the_gdpr(draft) -> None:
    [finding] = draft.purpose("personalisation", objection=None).findings("legitimate-interest-without-objection")
    assert finding.path == ("purposes", 4, "objection")


def test_the_pdpa_grants_no_right_to_object_so_none_is_required(under_pdpa) -> None:
    assert under_pdpa.purpose("personalisation", objection=None).findings("legitimate-interest-without-objection") == []


# -- legitimate-interest-not-stated ----------------------------------------------------------------
def test_legitimate_interests_without_the_interest_stated_is_an_error(draft) -> None:
    [finding] = draft.purpose("security", legitimate_interest=None).findings("legitimate-interest-not-stated")
    assert finding.path == ("purposes", 8, "legitimate_interest")


def test_stated_legitimate_interests_pass(draft) -> None:
    assert draft.findings("legitimate-interest-not-stated") == []


# -- direct-marketing-objection-not-absolute -------------------------------------------------------
def test_direct_marketing_on_legitimate_interests_with_a_qualified_objection_is_an_error(draft) -> None:
    changed = draft.purpose("personalisation", direct_marketing=True)
    [finding] = changed.findings("direct-marketing-objection-not-absolute")
    assert finding.path == ("purposes", 4, "objection", "absolute")


def test_direct_marketing_with_an_absolute_objection_passes(draft) -> None:
    changed = draft.purpose(
        "personalisation", direct_marketing=True, objection={"methods": ("email",), "absolute": True}
    )
    assert changed.findings("direct-marketing-objection-not-absolute") == []


# -- sale-or-sharing-without-consent ---------------------------------------------------------------
def test_selling_or_sharing_on_legitimate_interests_is_a_warning_under_the_gdpr(draft) -> None:
    changed = draft.purpose(
        "targeted-advertising",
        legal_basis="legitimate_interests",
        legitimate_interest={"en": "Ads."},
        objection={"methods": ("email",), "absolute": True},
    )
    [finding] = changed.findings("sale-or-sharing-without-consent")
    assert finding.path == ("purposes", 7, "legal_basis")
    assert finding.severity == "warning"


def test_selling_or_sharing_on_consent_passes(draft) -> None:
    assert draft.findings("sale-or-sharing-without-consent") == []


# -- special-category-without-condition ------------------------------------------------------------
def test_health_data_without_an_article_9_condition_is_an_error(draft) -> None:
    categories = ("user.name", "user.demographic.date_of_birth", "user.health_and_medical")
    [finding] = draft.purpose("teaching", data_categories=categories).findings("special-category-without-condition")
    assert finding.path == ("purposes", 1, "data_categories", 2)
    assert "user.health_and_medical" in finding.message


def test_a_custom_category_marked_special_needs_a_condition_too(draft) -> None:
    changed = draft.item("data_categories", "nexalearn.learning_activity", special=True)
    findings = changed.findings("special-category-without-condition")
    assert [f.path for f in findings] == [("purposes", 1, "data_categories", 2), ("purposes", 4, "data_categories", 2)]


def test_special_category_data_with_a_condition_passes(draft) -> None:
    changed = draft.purpose(
        "teaching",
        data_categories=("user.name", "user.health_and_medical"),
        special_category_condition="art9_2_a_explicit_consent",
    )
    assert changed.findings("special-category-without-condition") == []


# -- automated-decision-without-basis --------------------------------------------------------------
DECISION = {"logic": {"en": "A score."}, "significance": {"en": "Access to classes."}, "legal_effect": True}


def test_automated_decisions_with_legal_effect_on_legitimate_interests_are_an_error(draft) -> None:
    changed = draft.purpose("personalisation", automated_decision_making=DECISION)
    [finding] = changed.findings("automated-decision-without-basis")
    assert finding.path == ("purposes", 4, "automated_decision_making", "legal_effect")


def test_automated_decisions_necessary_for_a_contract_pass(draft) -> None:
    changed = draft.purpose("teaching", automated_decision_making=DECISION)
    assert changed.findings("automated-decision-without-basis") == []
