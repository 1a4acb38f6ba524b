"""Ages in completed years, pure date arithmetic (no database): what consent ages are checked against.

Someone born on 29 February turns a year older on 1 March in years without that day, as most laws count
(Norway's and Sweden's included): a year of age is complete on the day after the anniversary's eve.
"""

from __future__ import annotations

from datetime import date

__all__ = ["completed_years", "latest_birth_date"]


def completed_years(born: date, day: date) -> int:
    """How many years old someone born on ``born`` is on ``day`` (negative before they are born)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def latest_birth_date(age: int, day: date) -> date:
    """The latest birth date of someone at least ``age`` years old on ``day``.

    ``day.replace(year=day.year - age)`` fails on 29 February; here the answer is then 28 February, the
    last day whose anniversary has come by 29 February.
    """
    if age < 0:
        raise ValueError(f"an age is not negative, got {age}")
    year = day.year - age
    if (day.month, day.day) == (2, 29) and not _leap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
