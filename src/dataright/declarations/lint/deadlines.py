"""Comparing calendar periods the way a legal deadline runs.

``P30D`` and ``P1M`` cannot be ordered once and for all: from 1 March thirty days end before one
month does, from 1 February after. So a controller's own period is compared with the statutory
one from every start date in a four-year cycle (leap year included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dataright.declarations.periods import Period

_CYCLE_START = datetime(2024, 1, 1)
_CYCLE_DAYS = 366 + 365 * 3


@dataclass(frozen=True)
class Overrun:
    """How often ``own`` ends after ``limit`` across the cycle, and the first start date where it does."""

    count: int
    total: int
    first: datetime | None

    @property
    def always(self) -> bool:
        return self.count == self.total

    @property
    def ever(self) -> bool:
        return self.count > 0


def chained(periods: Period | Sequence[Period], start: datetime) -> datetime:
    """The end of ``periods`` run one after the other from ``start``: a deadline, then its extension counted on
    from the day the deadline ends (30 days then 2 months from 31 January end on 1 May, not 30 April)."""
    end = start
    for period in (periods,) if isinstance(periods, Period) else periods:
        end = period.after(end)
    return end


def overrun(own: Period | Sequence[Period], limit: Period | Sequence[Period]) -> Overrun:
    """How often ``own`` ends after ``limit``; either may be a chain of periods (deadline, extension)."""
    count = 0
    first: datetime | None = None
    for offset in range(_CYCLE_DAYS):
        start = _CYCLE_START + timedelta(days=offset)
        if chained(own, start) > chained(limit, start):
            count += 1
            first = first or start
    return Overrun(count, _CYCLE_DAYS, first)
