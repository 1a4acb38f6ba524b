"""Financial years and the dates periods run from. Pure date arithmetic, no database.

A controller's financial year ends on a month and day (``fiscal_year_end: "06-30"``; ``"02-29"`` means the
last day of February, whatever the year). A period that runs "after the end of the financial year"
(bookkeeping: five years after it, bokføringsloven § 13; seven years, bokföringslagen 7 kap. 2 §) starts
the day after the financial year in which the record falls ends; every other trigger starts on the day
it happened.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from dataright.declarations.periods import Period

CALENDAR_YEAR = "12-31"


def year_end_in(year: int, month_day: str) -> date:
    """The day the financial year ending in ``year`` ends."""
    month, day = int(month_day[:2]), int(month_day[3:])
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def fiscal_year_end_of(day: date, month_day: str) -> date:
    """The last day of the financial year ``day`` falls in (``day`` itself when it is that last day)."""
    end = year_end_in(day.year, month_day)
    return end if end >= day else year_end_in(day.year + 1, month_day)


def period_start(day: date, *, fiscal: bool, month_day: str | None) -> date:
    """The day a period runs from for a record dated ``day``: the day itself, or with a financial-year
    trigger the first day after its financial year."""
    if not fiscal:
        return day
    if month_day is None:
        raise ValueError("a financial-year trigger needs the controller's fiscal_year_end")
    return fiscal_year_end_of(day, month_day) + timedelta(days=1)


def ends(day: date, period: Period, *, fiscal: bool = False, month_day: str | None = None) -> date:
    """The first day on which ``period`` has run out for a record dated ``day``."""
    start = period_start(day, fiscal=fiscal, month_day=month_day)
    if period.hours or period.minutes:
        moment = period.after(datetime.combine(start, time()))
        return moment.date() + timedelta(days=1 if moment.time() != time() else 0)
    return period.after(start)


def last_day_run_out(today: date, period: Period, *, fiscal: bool = False, month_day: str | None = None) -> date | None:
    """The latest record date whose period has run out by ``today`` (every earlier one has too): records
    dated on or before it are due. None when not even the earliest representable date has run out."""
    low = date.min + timedelta(days=1)
    high = today
    if ends(high, period, fiscal=fiscal, month_day=month_day) <= today:
        return high
    span = int(period.approx_days() * 1.1) + 800
    low = today - timedelta(days=min(span, (today - low).days))
    if ends(low, period, fiscal=fiscal, month_day=month_day) > today:
        return None
    # ends() never decreases as the record date grows: the last date that has run out splits the range
    while high - low > timedelta(days=1):
        middle = low + (high - low) // 2
        if ends(middle, period, fiscal=fiscal, month_day=month_day) <= today:
            low = middle
        else:
            high = middle
    return low
