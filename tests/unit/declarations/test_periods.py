"""ISO 8601 periods and calendar-correct arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.declarations.periods import Period


@pytest.mark.parametrize("text", ["P6M", "P5Y", "P30D", "PT72H", "P1Y2M3W4DT5H6M", "P0D"])
def test_round_trips(text: str) -> None:
    assert Period.parse(text).iso() == text


@pytest.mark.parametrize("text", ["6M", "P", "PT", "P1Q", "P-1D", "1 month"])
def test_rejects_non_periods(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        Period.parse(text)


def test_one_month_from_31_january_ends_on_the_last_day_of_february() -> None:
    assert Period.parse("P1M").after(date(2025, 1, 31)) == date(2025, 2, 28)
    assert Period.parse("P1M").after(date(2024, 1, 31)) == date(2024, 2, 29)


def test_72_hours_is_three_days_to_the_minute() -> None:
    start = datetime(2026, 3, 1, 9, 30)
    assert Period.parse("PT72H").after(start) == start + timedelta(days=3)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 120))
def test_adding_months_never_goes_backwards_and_lands_in_the_right_month(start: date, months: int) -> None:
    end = Period(months=months).after(start)
    assert end >= start
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day <= start.day


@given(st.integers(0, 30), st.integers(0, 30))
def test_ordering_by_length_matches_days(a: int, b: int) -> None:
    assert (Period(days=a).approx_days() < Period(days=b).approx_days()) == (a < b)
