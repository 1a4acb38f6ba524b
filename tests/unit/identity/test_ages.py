"""Ages in completed years, across 29 February (hypothesis over every day of four centuries)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.identity.ages import completed_years, latest_birth_date

days = st.dates(min_value=date(1904, 1, 1), max_value=date(2299, 12, 31))
ages = st.integers(min_value=0, max_value=120)


@given(ages, days)
def test_the_latest_birth_date_is_exactly_old_enough(age: int, day: date) -> None:
    born = latest_birth_date(age, day)
    assert completed_years(born, day) == age
    assert completed_years(born + timedelta(days=1), day) == age - 1, "one day younger is a year short"


@given(days, days)
def test_a_person_is_a_year_older_on_each_anniversary_and_never_in_between(born: date, day: date) -> None:
    age = completed_years(born, day)
    if day >= born:
        assert age >= 0
        assert latest_birth_date(age, day) >= born
        assert completed_years(born, day + timedelta(days=1)) - age in (0, 1)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 2, 29), date(2025, 2, 28), 16),  # no 29 February in 2025: the birthday is 1 March
        (date(2008, 2, 29), date(2025, 3, 1), 17),
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(2010, 6, 15), date(2026, 6, 14), 15),
        (date(2010, 6, 15), date(2026, 6, 15), 16),
    ],
)
def test_completed_years(born: date, day: date, age: int) -> None:
    assert completed_years(born, day) == age


def test_on_29_february_the_latest_birth_date_in_a_common_year_is_28_february() -> None:
    assert latest_birth_date(15, date(2028, 2, 29)) == date(2013, 2, 28)
    assert latest_birth_date(16, date(2028, 2, 29)) == date(2012, 2, 29)
    with pytest.raises(ValueError, match="not negative"):
        latest_birth_date(-1, date(2028, 2, 29))
