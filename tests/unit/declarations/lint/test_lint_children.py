"""Rules on children's data: guardian consent and the age it stops being needed."""

from __future__ import annotations


# -- child-data-without-guardian-consent ------------------------------------------------------------
def test_childrens_data_on_consent_without_guardian_consent_is_an_error(draft) -> None:
    changed = draft.purpose("analytics", data_subjects=("visitor", "child-student"))
    [finding] = changed.findings("child-data-without-guardian-consent")
    assert finding.path == ("purposes", 5, "data_subjects", 1)
    assert "'analytics' rests on consent" in finding.message and "'child-student'" in finding.message


def test_childrens_data_on_a_contract_or_legitimate_interests_needs_no_guardian_consent(draft) -> None:
    # GDPR Art. 8 concerns consent only; a purpose on another basis rests on no one's consent.
    changed = draft.purpose("teaching", guardian_consent=False).purpose("security", guardian_consent=False)
    assert changed.findings("child-data-without-guardian-consent") == []


def test_adults_data_needs_no_guardian_consent(draft) -> None:
    changed = draft.purpose("teaching", guardian_consent=False, data_subjects=("adult-student", "guardian"))
    assert changed.findings("child-data-without-guardian-consent") == []


# -- child-consent-age-undeclared ------------------------------------------------------------------
def test_a_controller_processing_childrens_data_without_a_consent_age_is_warned(draft) -> None:
    [finding] = draft.rights(consent_age=None).findings("child-consent-age-undeclared")
    assert finding.path == ("rights", "consent_age")
    assert finding.severity == "warning"
    assert "gdpr-no sets 13 (personopplysningsloven § 5)" in finding.message


def test_a_controller_without_childrens_data_needs_no_consent_age(draft) -> None:
    changed = draft.rights(consent_age=None).item("data_subjects", "child-student", child=False)
    assert changed.findings("child-consent-age-undeclared") == []


def test_a_controller_with_its_own_rights_block_is_pointed_there(draft, nexalearn) -> None:
    rights = {**nexalearn.rights.model_dump(), "consent_age": None}
    [finding] = draft.controller("nexalearn", rights=rights).findings("child-consent-age-undeclared")
    assert finding.path == ("controllers", 0, "rights", "consent_age")


# -- consent-age-below-statutory -------------------------------------------------------------------
def test_a_consent_age_below_the_statutory_one_is_warned(draft) -> None:
    [finding] = draft.rights(consent_age=12).findings("consent-age-below-statutory")
    assert "declares consent age 12, below the 13 gdpr-no requires" in finding.message
    assert finding.reference == "personopplysningsloven § 5"


def test_a_consent_age_above_the_statutory_one_is_the_stricter_and_passes(draft) -> None:
    assert draft.rights(consent_age=16).findings("consent-age-below-statutory") == []
