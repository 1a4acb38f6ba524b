"""Comparing calendar periods the way a legal deadline runs.

``P30D`` and ``P1M`` cannot be ordered once and for all: from 1 March thirty days end before one
month does, from 1 February after. So a controller's own period is compared with the statutory
one from every start date in a four-year cycle (leap year included).
"""

from __future__ import annotations

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


def overrun(own: Period, limit: Period) -> Overrun:
    count = 0
    first: datetime | None = None
    for offset in range(_CYCLE_DAYS):
        start = _CYCLE_START + timedelta(days=offset)
        if own.after(start) > limit.after(start):
            count += 1
            first = first or start
    return Overrun(count, _CYCLE_DAYS, first)
