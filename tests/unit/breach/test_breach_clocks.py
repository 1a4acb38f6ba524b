"""Breach clocks: 72 hours of elapsed time under GDPR (DST neither stretches nor shrinks them), calendar days
under PDPA, each shown in the controller's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.breach.clocks import Clock, ClockState, deadlines, state
from dataright.declarations.jurisdictions import get_jurisdiction

OSLO = ZoneInfo("Europe/Oslo")
SINGAPORE = ZoneInfo("Asia/Singapore")
GDPR_NO = get_jurisdiction("gdpr-no").breach
PDPA = get_jurisdiction("pdpa-sg").breach

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)).map(
    lambda moment: moment.astimezone(OSLO)
)


def _due(found: list, clock: Clock) -> datetime | None:  # type: ignore[type-arg]
    return next(d.due for d in found if d.clock is clock)


def test_a_friday_evening_incident_in_oslo_is_due_monday_evening_oslo_time() -> None:
    aware = datetime(2026, 11, 27, 19, 30, tzinfo=OSLO)  # a Friday
    due = _due(deadlines(GDPR_NO, "Europe/Oslo", aware_at=aware), Clock.authority)
    assert due is not None
    assert due.isoformat() == "2026-11-30T19:30:00+01:00"  # Monday: the weekend counts
    assert due.tzinfo == OSLO


def test_seventy_two_hours_across_the_spring_change_end_an_hour_later_on_the_clock() -> None:
    aware = datetime(2026, 3, 27, 20, 0, tzinfo=OSLO)  # Friday; clocks go forward on Sunday 29 March
    due = _due(deadlines(GDPR_NO, "Europe/Oslo", aware_at=aware), Clock.authority)
    assert due is not None
    assert due.isoformat() == "2026-03-30T21:00:00+02:00"
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=72)


def test_seventy_two_hours_across_the_autumn_change_end_an_hour_earlier_on_the_clock() -> None:
    aware = datetime(2026, 10, 23, 20, 0, tzinfo=OSLO)  # clocks go back on Sunday 25 October
    due = _due(deadlines(GDPR_NO, "Europe/Oslo", aware_at=aware), Clock.authority)
    assert due is not None and due.isoformat() == "2026-10-26T19:00:00+01:00"


@given(moments)
def test_the_gdpr_clock_is_always_exactly_72_hours_of_real_time(aware: datetime) -> None:
    due = _due(deadlines(GDPR_NO, "Europe/Oslo", aware_at=aware), Clock.authority)
    assert due is not None
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=72)
    assert due.utcoffset() == OSLO.utcoffset(due.replace(tzinfo=None))  # shown with Oslo's offset at that time
    wall = due.replace(tzinfo=None) - aware.replace(tzinfo=None)
    assert wall in (timedelta(hours=71), timedelta(hours=72), timedelta(hours=73))


@given(moments)
def test_a_gdpr_incident_is_overdue_exactly_after_72_hours(aware: datetime) -> None:
    (authority,) = [d for d in deadlines(GDPR_NO, "Europe/Oslo", aware_at=aware) if d.clock is Clock.authority]
    start = aware.astimezone(UTC)  # real time: adding to an Oslo wall-clock time would cross DST wrongly
    assert state(authority, now=start + timedelta(hours=71, minutes=59), done_at=None) is ClockState.due_soon
    assert state(authority, now=start + timedelta(hours=72), done_at=None) is ClockState.due_soon
    assert state(authority, now=start + timedelta(hours=72, seconds=1), done_at=None) is ClockState.overdue
    assert state(authority, now=start + timedelta(hours=1), done_at=None) is ClockState.running
    assert state(authority, now=aware + timedelta(hours=100), done_at=aware) is ClockState.done


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 1)), st.times())
def test_the_pdpc_deadline_is_the_end_of_the_third_calendar_day_after_the_assessment(day: date, at: time) -> None:
    aware = datetime.combine(day, at, tzinfo=SINGAPORE) - timedelta(days=2)
    found = deadlines(PDPA, "Asia/Singapore", aware_at=aware, assessed_on=day)
    due = _due(found, Clock.authority)
    assert due is not None
    assert due.date() == day + timedelta(days=3) and due.time() == time(23, 59, 59)
    assert due.utcoffset() == timedelta(hours=8)
    assessment = _due(found, Clock.assessment)
    assert assessment is not None and assessment.date() == aware.astimezone(SINGAPORE).date() + timedelta(days=30)


def test_the_pdpc_clock_waits_for_the_assessment() -> None:
    aware = datetime(2026, 12, 1, 9, 0, tzinfo=SINGAPORE)
    found = deadlines(PDPA, "Asia/Singapore", aware_at=aware)
    authority = next(d for d in found if d.clock is Clock.authority)
    assert authority.due is None
    assert state(authority, now=aware, done_at=None) is ClockState.waiting
    assert [d.clock for d in found] == [Clock.assessment, Clock.authority, Clock.individuals]


def test_the_people_concerned_have_no_fixed_period_only_the_rule() -> None:
    aware = datetime(2026, 12, 1, 9, 0, tzinfo=OSLO)
    individuals = next(d for d in deadlines(GDPR_NO, "Europe/Oslo", aware_at=aware) if d.clock is Clock.individuals)
    assert individuals.due is None and individuals.reference == "Art. 34(1)"
    assert state(individuals, now=aware, done_at=None) is ClockState.open_ended


def test_a_naive_awareness_time_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        deadlines(GDPR_NO, "Europe/Oslo", aware_at=datetime(2026, 12, 1, 9, 0))
