"""Deadlines of rights requests on the three examples: GDPR (NO, SE) and PDPA (SG)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.periods import Period
from dataright.declarations.schema import Declaration
from dataright.errors import NotFound, ValidationFailed
from dataright.requests.deadlines import (
    count_period,
    deadline_for,
    extended_due,
    first_receipt,
    is_closed_day,
    joint_deadlines,
)

GDPR = get_jurisdiction("gdpr").response.counting
PDPA = get_jurisdiction("pdpa-sg").response.counting
ONE_MONTH = Period(months=1)


# -- Regulation 1182/71 on the calendar ---------------------------------------------------------


def test_a_month_from_31_january_ends_on_the_last_day_of_february() -> None:
    assert count_period(date(2023, 1, 31), ONE_MONTH, GDPR, "NO") == date(2023, 2, 28)


def test_a_month_from_31_january_in_a_leap_year_ends_on_29_february() -> None:
    assert count_period(date(2024, 1, 31), ONE_MONTH, GDPR, "NO") == date(2024, 2, 29)


def test_a_month_from_29_february_ends_on_29_march_moved_past_easter() -> None:
    # 29 March 2024 is Good Friday, then a weekend and Easter Monday, in Norway and Sweden alike.
    assert count_period(date(2024, 2, 29), ONE_MONTH, GDPR, "NO") == date(2024, 4, 2)
    assert count_period(date(2024, 2, 29), ONE_MONTH, GDPR, "SE") == date(2024, 4, 2)


def test_the_day_of_receipt_is_not_counted() -> None:
    # Received on 10 June: a month ends on 10 July (a Friday in 2026), not 9 July.
    assert count_period(date(2026, 6, 10), ONE_MONTH, GDPR, "SE") == date(2026, 7, 10)
    assert count_period(date(2026, 3, 1), Period(days=30), PDPA, "SG") == date(2026, 3, 31)


def test_a_period_ending_on_a_saturday_or_sunday_ends_on_monday() -> None:
    assert count_period(date(2026, 9, 12), ONE_MONTH, GDPR, "NO") == date(2026, 10, 12)  # 12 Sep 2026 is a Saturday
    assert count_period(date(2026, 9, 13), ONE_MONTH, GDPR, "NO") == date(2026, 10, 13)  # 13 Oct: Tuesday, kept
    assert count_period(date(2026, 9, 11), ONE_MONTH, GDPR, "SE") == date(2026, 10, 12)  # 11 Oct: Sunday


def test_norwegian_constitution_day_17_may_is_not_a_working_day() -> None:
    # 17 May 2027 is a Monday: the period runs on to Tuesday 18 May in Norway, not in Sweden.
    assert count_period(date(2027, 4, 17), ONE_MONTH, GDPR, "NO") == date(2027, 5, 18)
    assert count_period(date(2027, 4, 17), ONE_MONTH, GDPR, "SE") == date(2027, 5, 17)


def test_norwegian_maundy_thursday_and_easter_move_the_end_to_the_tuesday_after() -> None:
    # 2 April 2026 is Maundy Thursday (a holiday in Norway, not in Sweden), then Good Friday to Easter Monday.
    assert count_period(date(2026, 3, 2), ONE_MONTH, GDPR, "NO") == date(2026, 4, 7)
    assert count_period(date(2025, 3, 17), ONE_MONTH, GDPR, "NO") == date(2025, 4, 22)  # 17 Apr 2025: Maundy Thu
    assert count_period(date(2025, 3, 17), ONE_MONTH, GDPR, "SE") == date(2025, 4, 17)


def test_swedish_national_day_and_midsummer_are_not_working_days() -> None:
    # 6 June 2025 is a Friday: Sweden's national day, an ordinary day in Norway.
    assert count_period(date(2025, 5, 6), ONE_MONTH, GDPR, "SE") == date(2025, 6, 9)
    assert count_period(date(2025, 5, 6), ONE_MONTH, GDPR, "NO") == date(2025, 6, 6)
    # Midsummer Day (20 June 2026, a Saturday) is a Swedish public holiday; the period ends on Monday.
    assert is_closed_day(date(2026, 6, 20), GDPR, "SE")
    assert count_period(date(2026, 5, 20), ONE_MONTH, GDPR, "SE") == date(2026, 6, 22)


def test_whit_monday_closes_norway_but_not_sweden() -> None:
    # 25 May 2026 is Whit Monday: a public holiday in Norway, abolished in Sweden in 2005.
    assert count_period(date(2026, 4, 25), ONE_MONTH, GDPR, "NO") == date(2026, 5, 26)
    assert count_period(date(2026, 4, 25), ONE_MONTH, GDPR, "SE") == date(2026, 5, 25)


def test_pdpa_counts_saturdays_but_not_sundays_or_singapore_holidays() -> None:
    # 30 days from 3 July 2026 ends on Sunday 2 August -> Monday 3 August (a Saturday would stand).
    assert count_period(date(2026, 7, 3), Period(days=30), PDPA, "SG") == date(2026, 8, 3)
    assert count_period(date(2026, 7, 2), Period(days=30), PDPA, "SG") == date(2026, 8, 1)
    # 9 August 2026 (National Day) is a Sunday, observed on Monday 10 August: the period runs to the 11th.
    assert count_period(date(2026, 7, 10), Period(days=30), PDPA, "SG") == date(2026, 8, 11)


# -- the controller's promise and the earlier-of rule -------------------------------------------


def test_nexalearns_30_days_bind_before_the_statutory_month_and_both_are_shown(nexalearn: Declaration) -> None:
    deadline = deadline_for(nexalearn, "nexalearn", date(2026, 3, 2), "access")

    assert deadline.statutory == date(2026, 4, 7)
    assert deadline.promised == date(2026, 4, 1)
    assert deadline.binding == date(2026, 4, 1)
    assert deadline.extension_notice_by == date(2026, 4, 1)


def test_the_statutory_month_binds_when_it_ends_before_the_30_days(nexalearn: Declaration) -> None:
    # From 31 January a month ends on 28 February, before the promised 30 days (2 March).
    deadline = deadline_for(nexalearn, "nexalearn", date(2025, 1, 31))

    assert deadline.statutory == date(2025, 2, 28)
    assert deadline.promised == date(2025, 3, 2)
    assert deadline.binding == date(2025, 2, 28)


def test_nestit_extension_is_capped_by_its_own_two_months(nestit: Declaration) -> None:
    deadline = deadline_for(nestit, "nestit-group-ab", date(2026, 3, 3), "erasure")

    assert deadline.statutory == date(2026, 4, 7)  # 3 April is Good Friday, then Easter
    assert deadline.binding == date(2026, 4, 2)
    assert deadline.statutory_extension_limit == date(2026, 6, 3)  # three months in all
    assert deadline.promised_extension_limit == date(2026, 5, 3)  # 30 days + one month
    assert deadline.extension_limit == date(2026, 5, 3)


def test_nestpros_has_a_30_day_clock_and_no_fixed_extension(nestpros: Declaration) -> None:
    deadline = deadline_for(nestpros, "nestpros", date(2026, 3, 1), "access")

    assert deadline.jurisdiction == "pdpa-sg"
    assert deadline.statutory == deadline.binding == date(2026, 3, 31)
    assert deadline.extension_limit is None
    assert "when" in deadline.extension_condition


def _with_extension(d: Declaration, extension: str) -> Declaration:
    """NexaLearn promises no extension ("senest innen 30 dager"); these tests need a controller that declares one."""
    rights = d.rights.model_copy(update={"extension": Period.parse(extension)})  # type: ignore[union-attr]
    return d.model_copy(update={"rights": rights})


def test_an_extension_needs_its_notice_before_the_first_deadline(nexalearn: Declaration) -> None:
    deadline = deadline_for(_with_extension(nexalearn, "P2M"), "nexalearn", date(2026, 3, 2))

    assert extended_due(deadline, notice_sent=date(2026, 3, 20)) == date(2026, 6, 1)
    assert extended_due(deadline, notice_sent=date(2026, 4, 1), until=date(2026, 5, 15)) == date(2026, 5, 15)
    with pytest.raises(ValidationFailed, match="by 2026-04-01"):
        extended_due(deadline, notice_sent=date(2026, 4, 2))
    with pytest.raises(ValidationFailed, match="at the latest"):
        extended_due(deadline, notice_sent=date(2026, 3, 20), until=date(2026, 6, 2))


def test_a_pdpa_extension_must_state_its_date(nestpros: Declaration) -> None:
    deadline = deadline_for(nestpros, "nestpros", date(2026, 3, 1))

    with pytest.raises(ValidationFailed, match="must state when"):
        extended_due(deadline, notice_sent=date(2026, 3, 25))
    assert extended_due(deadline, notice_sent=date(2026, 3, 25), until=date(2026, 4, 30)) == date(2026, 4, 30)


# -- time zones and joint controllers -----------------------------------------------------------


def test_a_receipt_late_in_the_evening_utc_is_the_next_day_in_oslo(nexalearn: Declaration) -> None:
    evening = datetime(2026, 1, 30, 23, 30, tzinfo=UTC)  # 00:30 on 31 January in Oslo

    assert deadline_for(nexalearn, "nexalearn", evening).received == date(2026, 1, 31)
    assert deadline_for(nexalearn, "nexalearn", evening).statutory == date(2026, 3, 2)  # 28 Feb is a Saturday


def test_a_receipt_without_an_offset_is_refused(nexalearn: Declaration) -> None:
    with pytest.raises(ValidationFailed, match="offset"):
        deadline_for(nexalearn, "nexalearn", datetime(2026, 1, 30, 23, 30))


def test_a_joint_request_runs_from_the_first_receipt_anywhere(nestit: Declaration) -> None:
    at_provendo = datetime(2026, 5, 4, 8, 0, tzinfo=ZoneInfo("Europe/Oslo"))
    at_group = datetime(2026, 5, 11, 14, 0, tzinfo=ZoneInfo("Europe/Stockholm"))

    both = joint_deadlines(nestit, ["nestit-group-ab", "provendo-as"], [at_group, at_provendo], "access")

    assert {d.received for d in both.values()} == {date(2026, 5, 4)}
    assert both["nestit-group-ab"].statutory == date(2026, 6, 4)
    assert both["provendo-as"].statutory == date(2026, 6, 4)
    assert both["nestit-group-ab"].binding == date(2026, 6, 3)


def test_a_right_the_controller_does_not_offer_is_refused(nestpros: Declaration) -> None:
    with pytest.raises(ValidationFailed, match="does not offer automated_decisions"):
        deadline_for(nestpros, "nestpros", date(2026, 3, 1), "automated_decisions")
    with pytest.raises(ValidationFailed, match="unknown request type"):
        deadline_for(nestpros, "nestpros", date(2026, 3, 1), "refund")


def test_an_unknown_controller_is_named(nestpros: Declaration) -> None:
    with pytest.raises(NotFound, match="'nexalearn'"):
        deadline_for(nestpros, "nexalearn", date(2026, 3, 1))


def test_a_joint_request_needs_a_receipt() -> None:
    with pytest.raises(ValidationFailed, match="no receipt"):
        first_receipt([])


# -- properties ---------------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))
CONTROLLERS = [("nexalearn", "NO"), ("nestit-group-ab", "SE"), ("provendo-as", "NO"), ("nestpros", "SG")]


def _declaration(cid: str, nexalearn: Declaration, nestit: Declaration, nestpros: Declaration) -> Declaration:
    return {"nexalearn": nexalearn, "nestpros": nestpros}.get(cid, nestit)


@settings(max_examples=300, deadline=None)
@given(received=days, which=st.sampled_from(CONTROLLERS))
def test_the_binding_date_is_the_earlier_of_statutory_and_promised_and_never_before_receipt(
    received: date, which: tuple[str, str], nexalearn: Declaration, nestit: Declaration, nestpros: Declaration
) -> None:
    cid, country = which
    deadline = deadline_for(_declaration(cid, nexalearn, nestit, nestpros), cid, received)
    rule = get_jurisdiction(deadline.jurisdiction).response.counting

    assert deadline.promised is not None  # every example promises 30 days
    assert deadline.binding == min(deadline.statutory, deadline.promised)
    assert received < deadline.binding
    assert not is_closed_day(deadline.statutory, rule, country)
    assert deadline.extension_notice_by <= deadline.binding
    if deadline.extension_limit is not None:
        assert deadline.extension_limit > deadline.binding


@settings(max_examples=300, deadline=None)
@given(received=days)
def test_a_gdpr_month_ends_on_the_first_open_day_on_or_after_the_same_date_next_month(received: date) -> None:
    end = count_period(received, ONE_MONTH, GDPR, "NO")
    naive = ONE_MONTH.after(received)

    assert naive.month == received.month % 12 + 1
    assert naive.day == min(received.day, calendar.monthrange(naive.year, naive.month)[1])
    assert naive <= end < naive + timedelta(days=10)
    assert end.weekday() < 5
    assert all(is_closed_day(naive + timedelta(days=i), GDPR, "NO") for i in range((end - naive).days))


@settings(max_examples=200, deadline=None)
@given(first=days, second=days)
def test_a_later_receipt_never_gives_an_earlier_deadline(first: date, second: date) -> None:
    early, late = sorted((first, second))

    assert count_period(early, ONE_MONTH, GDPR, "SE") <= count_period(late, ONE_MONTH, GDPR, "SE")
    assert count_period(early, Period(days=30), PDPA, "SG") <= count_period(late, Period(days=30), PDPA, "SG")


@settings(max_examples=200, deadline=None)
@given(moment=moments)
def test_the_receipt_date_is_the_date_on_the_controllers_clock(moment: datetime, nestpros: Declaration) -> None:
    deadline = deadline_for(nestpros, "nestpros", moment)

    assert deadline.received == moment.astimezone(ZoneInfo("Asia/Singapore")).date()


@settings(max_examples=100, deadline=None)
@given(receipts=st.lists(moments, min_size=1, max_size=5))
def test_a_joint_clock_ignores_the_order_of_receipts(receipts: list[datetime], nestit: Declaration) -> None:
    ids = ["nestit-group-ab", "provendo-as"]
    forward = joint_deadlines(nestit, ids, receipts)
    backward = joint_deadlines(nestit, ids, list(reversed(receipts)))

    assert forward == backward
    assert forward["provendo-as"] == deadline_for(nestit, "provendo-as", min(receipts))


def test_nexalearn_offers_no_extension_because_its_notice_promises_30_days_at_the_latest(
    nexalearn: Declaration,
) -> None:
    deadline = deadline_for(nexalearn, "nexalearn", date(2026, 12, 7), "access")

    assert not deadline.extension_offered and deadline.extension_limit is None
    with pytest.raises(ValidationFailed, match="offers none"):
        extended_due(deadline, notice_sent=date(2026, 12, 10))


def test_nestit_and_nestpros_still_offer_theirs(nestit: Declaration, nestpros: Declaration) -> None:
    assert deadline_for(nestit, "nestit-group-ab", date(2026, 12, 7)).extension_offered
    assert deadline_for(nestpros, "nestpros", date(2026, 12, 7)).extension_offered
