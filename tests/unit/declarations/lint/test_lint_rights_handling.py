"""Rules on rights handling: every statutory right offered, deadlines no longer than the law's."""

from __future__ import annotations

from dataright.declarations.periods import Period

ALL_BUT_ERASURE = (
    "access",
    "rectification",
    "restriction",
    "portability",
    "objection",
    "withdraw_consent",
    "complaint",
    "automated_decisions",
)


# -- rights-handling-omits-statutory-right --------------------------------------------------------
def test_leaving_out_a_gdpr_right_is_an_error(draft) -> None:
    [finding] = draft.rights(rights=ALL_BUT_ERASURE).findings("rights-handling-omits-statutory-right")
    assert finding.path == ("rights", "rights")
    assert "does not offer erasure, which gdpr-no grants" in finding.message


def test_the_pdpa_grants_no_right_to_erasure(under_pdpa) -> None:
    assert under_pdpa.rights(rights=ALL_BUT_ERASURE).findings("rights-handling-omits-statutory-right") == []


# -- response-time-exceeds-statutory --------------------------------------------------------------
def test_a_response_time_longer_than_the_law_is_an_error(draft) -> None:
    [finding] = draft.rights(response_time=Period.parse("P45D")).findings("response-time-exceeds-statutory")
    assert finding.path == ("rights", "response_time")
    assert "declares response_time P45D, longer than the statutory P1M" in finding.message
    assert finding.reference == "GDPR Art. 12(3)"


def test_an_extension_longer_than_the_law_is_an_error(draft) -> None:
    [finding] = draft.rights(extension=Period.parse("P3M")).findings("response-time-exceeds-statutory")
    assert finding.path == ("rights", "extension")


def test_thirty_days_and_two_months_together_end_after_one_month_and_two_months(draft) -> None:
    # From 31 January 2024: 30 days end on 1 March, two more months on 1 May; the law's three months on 30 April.
    changed = draft.rights(response_time=Period.parse("P30D"), extension=Period.parse("P2M"))
    [finding] = changed.findings("response-time-exceeds-statutory")
    assert finding.path == ("rights", "extension")
    assert "(from 2024-01-31: 2024-05-01 instead of 2024-04-30)" in finding.message
    assert finding.reference == "GDPR Art. 12(3)"


def test_thirty_days_and_one_more_month_stay_within_the_law(draft) -> None:
    changed = draft.rights(response_time=Period.parse("P30D"), extension=Period.parse("P1M"))
    assert changed.findings("response-time-exceeds-statutory") == []


def test_an_extension_where_the_law_has_no_extension_period_is_an_error(under_pdpa) -> None:
    changed = under_pdpa.rights(response_time=Period.parse("P30D"), extension=Period.parse("P1M"))
    [finding] = changed.findings("response-time-exceeds-statutory")
    assert "pdpa-sg sets no extension period" in finding.message


def test_thirty_days_against_one_month_is_not_an_error(draft) -> None:
    assert draft.rights(response_time=Period.parse("P30D")).findings("response-time-exceeds-statutory") == []


def test_thirty_days_is_the_pdpa_deadline_itself(under_pdpa) -> None:
    assert under_pdpa.rights(response_time=Period.parse("P30D")).findings("response-time-exceeds-statutory") == []


# -- response-time-may-exceed-statutory -----------------------------------------------------------
def test_thirty_days_against_one_month_ends_later_from_31_january(draft) -> None:
    [finding] = draft.rights(response_time=Period.parse("P30D")).findings("response-time-may-exceed-statutory")
    assert finding.severity == "warning"
    assert "(from 2024-01-31: 2024-03-01 instead of 2024-02-29)" in finding.message


def test_a_response_time_of_four_weeks_never_ends_later(draft) -> None:
    assert draft.rights(response_time=Period.parse("P4W")).findings("response-time-may-exceed-statutory") == []
