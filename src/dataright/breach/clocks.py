"""Breach clocks: when the assessment, the authority and the people concerned are due (pure, no database).

Every rule comes from the controller's jurisdiction pack (``breach`` block); this module only counts.

* A period with a time part (GDPR Art. 33(1): ``PT72H``) is **elapsed time**: 72 hours are 72 hours of
  real time from the moment of awareness, computed in UTC, so a weekend or a daylight-saving change
  neither stretches nor shrinks it; the deadline is then *shown* in the controller's time zone (across a
  change to summer time the wall clock reads 73 hours later, to winter time 71).
* A period of whole days (PDPA s. 26D(1): ``P3D`` "no later than 3 calendar days after the day of
  assessment"; the 30-day assessment) is counted in **calendar days** of the controller's time zone from
  the day of the event, and ends at the end of the last day (23:59:59 local time).

A clock that starts from the assessment has no date until the assessment is recorded. Notifying the people
concerned has no fixed period under either law: GDPR says "without undue delay" (Art. 34(1)), PDPA "on or
after" notifying the Commission (s. 26D(2)); those are returned without a date and with that note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dataright.declarations.jurisdictions import BreachRule
from dataright.declarations.periods import Period

END_OF_DAY = time(23, 59, 59)
DUE_SOON = timedelta(hours=24)


class Clock(StrEnum):
    assessment = "assessment"
    authority = "authority"
    individuals = "individuals"


class ClockState(StrEnum):
    waiting = "waiting"  # its start (the assessment) has not happened yet
    running = "running"
    due_soon = "due_soon"  # less than 24 hours left
    overdue = "overdue"
    done = "done"
    open_ended = "open_ended"  # no fixed period (without undue delay / on or after the authority)


@dataclass(frozen=True)
class Deadline:
    clock: Clock
    due: datetime | None
    """Aware, in the controller's time zone; None while its start is unknown or when the law sets no period."""
    reference: str
    rule: str
    """How it is counted, in words (for the CLI and documents)."""


def is_elapsed(period: Period) -> bool:
    """True for periods with a time part (counted as real elapsed time), False for calendar periods."""
    return bool(period.hours or period.minutes)


def _elapsed(period: Period) -> timedelta:
    days = period.weeks * 7 + period.days
    if period.years or period.months:
        raise ValueError(f"{period} mixes calendar months or years with hours; a breach clock cannot count that")
    return timedelta(days=days, hours=period.hours, minutes=period.minutes)


def elapsed_deadline(start: datetime, period: Period, zone: ZoneInfo) -> datetime:
    """``start`` plus ``period`` of real time, shown in ``zone``."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("a breach clock needs an aware datetime (with a UTC offset)")
    return (start.astimezone(UTC) + _elapsed(period)).astimezone(zone)


def calendar_deadline(day: date, period: Period, zone: ZoneInfo) -> datetime:
    """The end (23:59:59 local time) of the day ``period`` after ``day``."""
    return datetime.combine(period.after(day), END_OF_DAY, tzinfo=zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _from(period: Period, start: datetime, zone: ZoneInfo) -> datetime:
    if is_elapsed(period):
        return elapsed_deadline(start, period, zone)
    return calendar_deadline(local_day(start, zone), period, zone)


def deadlines(
    rule: BreachRule, timezone: str, *, aware_at: datetime, assessed_on: date | None = None
) -> list[Deadline]:
    """Each deadline that applies under ``rule`` for an incident the controller became aware of (or, under
    PDPA, first suspected) at ``aware_at`` and, where recorded, assessed on ``assessed_on``."""
    if aware_at.tzinfo is None or aware_at.utcoffset() is None:
        raise ValueError("aware_at needs a UTC offset")
    zone = ZoneInfo(timezone)
    out: list[Deadline] = []
    if rule.assessment_within is not None:
        out.append(
            Deadline(
                Clock.assessment,
                _from(rule.assessment_within, aware_at, zone),
                rule.assessment_reference or "",
                _words(rule.assessment_within, "awareness"),
            )
        )
    if rule.authority_from == "awareness":
        authority_due: datetime | None = _from(rule.authority_within, aware_at, zone)
    elif assessed_on is not None:
        start = datetime.combine(assessed_on, time(0), tzinfo=zone)
        authority_due = _from(rule.authority_within, start, zone)
    else:
        authority_due = None
    out.append(
        Deadline(
            Clock.authority, authority_due, rule.authority_reference, _words(rule.authority_within, rule.authority_from)
        )
    )
    individuals = (
        "without undue delay when the risk is high"
        if rule.individuals == "without_undue_delay"
        else "on or after notifying the authority"
    )
    out.append(Deadline(Clock.individuals, None, rule.individuals_reference, individuals))
    return out


def _words(period: Period, start: str) -> str:
    if is_elapsed(period):
        hours = int(_elapsed(period).total_seconds() // 3600)
        return f"{hours} hours of elapsed time from {start}"
    return f"{period} in calendar days after the day of {start}, to the end of that day"


def state(deadline: Deadline, *, now: datetime, done_at: datetime | None) -> ClockState:
    """Where one clock stands at ``now``."""
    if done_at is not None:
        return ClockState.done
    if deadline.due is None:
        return ClockState.open_ended if deadline.clock is Clock.individuals else ClockState.waiting
    if now > deadline.due:
        return ClockState.overdue
    if deadline.due - now <= DUE_SOON:
        return ClockState.due_soon
    return ClockState.running
