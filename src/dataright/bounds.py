"""Bounds on numbers and dates from outside, checked where they come in (API, CSV import).

Ids are 64-bit signed integers in the database: a larger one cannot name anything and must be refused
before it reaches a driver (where it would overflow into a 500). Dates: a consent cannot have happened
before 1970 (no record of this kind is older, and clocks reading 0 mean "unset") nor more than a day
ahead (clock skew between systems is allowed, the future is not); nobody is born in the future or before
1900.

Each check raises ``ValueError`` saying what was expected, never repeating the value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MAX_ID = 2**63 - 1
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
EARLIEST_BIRTH = date(1900, 1, 1)


def check_occurred_at(value: datetime, *, now: datetime | None = None) -> datetime:
    """``value`` (time-zone aware) if it lies between 1970-01-01 and a day from now."""
    if value < EARLIEST_EVENT:
        raise ValueError("lies before 1970-01-01")
    if value > (now or datetime.now(UTC)) + FUTURE_SLACK:
        raise ValueError("lies more than a day in the future")
    return value


def check_birth_date(value: date, *, today: date | None = None) -> date:
    """``value`` if it lies between 1900-01-01 and today."""
    if not EARLIEST_BIRTH <= value <= (today or datetime.now(UTC).date()):
        raise ValueError(f"must lie between {EARLIEST_BIRTH.isoformat()} and today")
    return value
