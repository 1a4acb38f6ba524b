"""When a rights request must be answered: pure date arithmetic, no database.

Two dates bind a controller and both are shown:

- the **statutory** date, from the controller's jurisdiction pack (``response`` in
  ``declarations/jurisdictions/packs/*.yaml``): its period (GDPR one month, PDPA 30 days) counted by the
  pack's ``counting`` rule. The day of receipt is not counted, a month ends on the same date of the next
  month or on that month's last day (31 January -> 28/29 February), and a period ending on a closed day
  (GDPR: Saturday, Sunday or a public holiday of the controller's country, Regulation 1182/71 Art. 3(4);
  PDPA: Sunday or public holiday, Interpretation Act s. 50) runs on to the next open day. Public holidays
  come from the ``holidays`` package;
- the **promised** date, from the controller's own ``rights.response_time`` (NexaLearn and NestIT: 30
  days). A promise is the controller's own word: counted from the day after receipt and not moved off a
  weekend.

The earlier of the two is the **binding** date. An extension must be announced by the binding date (and
within the pack's ``extension_notice_within``); it may run to the statutory limit (GDPR: two further
months, three in all) and no further than the controller's own promise with its ``rights.extension``.
Under the PDPA there is no fixed cap: the written notice states the date.

Dates are on the controller's calendar: a receipt timestamp becomes a date in the controller's declared
time zone (``Controller.timezone``). For jointly controlled processing the clock starts at the first
receipt anywhere in the arrangement (``joint_deadlines``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import holidays

from dataright.declarations.jurisdictions import WEEKDAYS, CountingRule, Jurisdiction, get_jurisdiction
from dataright.declarations.periods import Period
from dataright.declarations.schema import Controller, Declaration, Right
from dataright.errors import NotFound, ValidationFailed

__all__ = [
    "Deadline",
    "count_period",
    "deadline_for",
    "extended_due",
    "first_receipt",
    "is_closed_day",
    "joint_deadlines",
    "local_receipt_date",
    "next_open_day",
]

_LONGEST_ROLL = 31  # no run of closed days is this long; a longer one means broken holiday data


@dataclass(frozen=True)
class Deadline:
    """The dates one request must meet. All are dates on the controller's calendar."""

    controller_id: str
    jurisdiction: str
    right: Right | None
    timezone: str
    received: date
    """The local date of receipt (the first receipt anywhere, for joint controllers)."""
    statutory: date
    promised: date | None
    """The controller's own promise, or ``None`` when it promises nothing shorter than the law."""
    binding: date
    """The earlier of ``statutory`` and ``promised``: the answer is late after this day."""
    extension_notice_by: date
    """The last day a notice of extension (with its reason / its date) may reach the person."""
    statutory_extension_limit: date | None
    """The latest an extended answer may come under the law; ``None``: the notice states the date."""
    promised_extension_limit: date | None
    """The controller's own promise plus its declared ``rights.extension``, if it declares one."""
    statutory_period: Period
    promised_period: Period | None
    reference: str
    counting_reference: str
    extension_condition: str
    """What the law requires of an extension, in English (packs carry nb and sv too)."""
    extension_offered: bool = True
    """False when the controller promises its own deadline and declares no ``rights.extension`` under a law that
    fixes one: its notice then offers no extension (NexaLearn: "senest innen 30 dager"), so none is allowed."""

    @property
    def extension_limit(self) -> date | None:
        """The latest an extended answer may come: the earlier of the law's and the controller's limits."""
        if not self.extension_offered:
            return None
        limits = [d for d in (self.statutory_extension_limit, self.promised_extension_limit) if d is not None]
        return min(limits) if limits else None

    def is_overdue(self, today: date, extended_to: date | None = None) -> bool:
        """True once ``today`` is past the binding date (or the date an extension moved it to)."""
        return today > (extended_to or self.binding)

    def days_left(self, today: date, extended_to: date | None = None) -> int:
        """Calendar days from ``today`` to the due date; negative when overdue."""
        return ((extended_to or self.binding) - today).days


# -- calendar ----------------------------------------------------------------------------------


@cache
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        calendar = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        raise NotFound(f"the holidays package has no public holidays for country {country!r}") from None
    return frozenset(calendar)


def is_closed_day(day: date, rule: CountingRule, country: str) -> bool:
    """True when a period may not end on ``day``: a closed weekday or a public holiday in ``country``."""
    if WEEKDAYS[day.weekday()] in rule.closed_weekdays:
        return True
    return rule.public_holidays and day in _holidays(country, day.year)


def next_open_day(day: date, rule: CountingRule, country: str) -> date:
    """``day`` itself when a period may end on it, else the first following day that is not closed."""
    for _ in range(_LONGEST_ROLL):
        if not is_closed_day(day, rule, country):
            return day
        day += timedelta(days=1)
    raise ValueError(f"no open day within {_LONGEST_ROLL} days before {day.isoformat()} in {country}")


def count_period(received: date, period: Period, rule: CountingRule, country: str) -> date:
    """The last day of ``period`` counted from the day after ``received`` under ``rule``."""
    return next_open_day(period.after(received), rule, country)


def local_receipt_date(received_at: datetime | date, controller: Controller) -> date:
    """The date of receipt on the controller's calendar.

    A ``date`` is taken as already local; a ``datetime`` must carry its offset (a naive timestamp is
    ambiguous by up to a day and is refused).
    """
    if not isinstance(received_at, datetime):
        return received_at
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValidationFailed("the receipt time has no time zone offset; give it in UTC or with its offset")
    return received_at.astimezone(controller.zone).date()


def first_receipt(receipts: Iterable[datetime]) -> datetime:
    """The earliest of several receipt times (each with its offset): when the joint clock starts."""
    times = list(receipts)
    if not times:
        raise ValidationFailed("no receipt times given; a joint request starts at the first receipt")
    for when in times:
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValidationFailed("a receipt time has no time zone offset; give it in UTC or with its offset")
    return min(times)


# -- deadlines ---------------------------------------------------------------------------------


def _offered(declaration: Declaration, controller: Controller, right: Right | str | None) -> Right | None:
    if right is None:
        return None
    try:
        chosen = Right(right)
    except ValueError:
        known = ", ".join(r.value for r in Right)
        raise ValidationFailed(f"unknown request type {right!r}; one of {known}") from None
    offered = declaration.rights_of(controller.id).rights
    if chosen not in offered:
        names = ", ".join(r.value for r in offered)
        raise ValidationFailed(f"controller {controller.id!r} does not offer {chosen.value}; it offers {names}")
    return chosen


def deadline_for(
    declaration: Declaration,
    controller_id: str,
    received_at: datetime | date,
    right: Right | str | None = None,
) -> Deadline:
    """Every date a request received at ``received_at`` by ``controller_id`` must meet.

    ``right`` (a request type) is checked against the rights the controller offers; the period is the
    same for every right under the packs we carry.
    """
    controller = declaration.controller_by_id.get(controller_id)
    if controller is None:
        known = ", ".join(sorted(declaration.controller_by_id))
        raise NotFound(
            f"no controller {controller_id!r} in declaration {declaration.organisation.id!r}; known: {known}"
        )
    chosen = _offered(declaration, controller, right)
    pack: Jurisdiction = get_jurisdiction(controller.jurisdiction)
    rule = pack.response
    received = local_receipt_date(received_at, controller)
    country = controller.country

    statutory = count_period(received, rule.deadline, rule.counting, country)
    own = declaration.rights_of(controller.id)
    promised = own.response_time.after(received) if own.response_time is not None else None
    binding = min(statutory, promised) if promised is not None else statutory

    notice_window = (
        count_period(received, rule.extension_notice_within, rule.counting, country)
        if rule.extension_notice_within is not None
        else statutory
    )
    statutory_extension_limit = (
        count_period(received, rule.deadline + rule.extension, rule.counting, country)
        if rule.extension is not None
        else None
    )
    # the notice's reading (notice/view.py): an own deadline and no declared extension offers none
    offered = not (own.response_time is not None and own.extension is None and rule.extension is not None)
    promised_extension_limit = (
        (own.response_time + own.extension).after(received)
        if own.response_time is not None and own.extension is not None
        else None
    )
    return Deadline(
        controller_id=controller.id,
        jurisdiction=pack.id,
        right=chosen,
        timezone=controller.zone.key,
        received=received,
        statutory=statutory,
        promised=promised,
        binding=binding,
        extension_notice_by=min(notice_window, binding),
        statutory_extension_limit=statutory_extension_limit,
        promised_extension_limit=promised_extension_limit,
        statutory_period=rule.deadline,
        promised_period=own.response_time,
        reference=rule.reference,
        counting_reference=rule.counting.reference,
        extension_condition=rule.extension_condition.get("en") or next(iter(rule.extension_condition.values())),
        extension_offered=offered,
    )


def joint_deadlines(
    declaration: Declaration,
    controller_ids: Iterable[str],
    receipts: Iterable[datetime],
    right: Right | str | None = None,
) -> dict[str, Deadline]:
    """Each joint controller's deadlines for one request filed with one or more of them.

    The clock starts at the first receipt anywhere in the arrangement; each controller counts it on its
    own calendar (time zone, holidays) under its own pack and promise.
    """
    start = first_receipt(receipts)
    return {cid: deadline_for(declaration, cid, start, right) for cid in dict.fromkeys(controller_ids)}


def extended_due(deadline: Deadline, *, notice_sent: date, until: date | None = None) -> date:
    """The new due date after an extension notice sent on ``notice_sent``.

    The notice must go out by ``deadline.extension_notice_by``. ``until`` is the date the notice states:
    under the GDPR it defaults to the extension limit and may not pass it; under the PDPA (no fixed
    cap) it is required. It may not come before the binding date.
    """
    if not deadline.extension_offered:
        raise ValidationFailed(
            f"controller {deadline.controller_id!r} promises an answer within {deadline.promised_period} and "
            "declares no extension (rights.extension), so its notice offers none: the answer is due on "
            f"{deadline.binding.isoformat()}"
        )
    if notice_sent > deadline.extension_notice_by:
        raise ValidationFailed(
            f"an extension notice must reach the person by {deadline.extension_notice_by.isoformat()} "
            f"({deadline.reference}); {notice_sent.isoformat()} is too late"
        )
    limit = deadline.extension_limit
    chosen = until or limit
    if chosen is None:
        raise ValidationFailed(
            f"{deadline.jurisdiction} sets no fixed extension: the notice must state when the answer will come"
        )
    if limit is not None and chosen > limit:
        raise ValidationFailed(f"an extension may run to {limit.isoformat()} at the latest, not {chosen.isoformat()}")
    if chosen <= deadline.binding:
        raise ValidationFailed(
            f"an extension must end after the current due date {deadline.binding.isoformat()}, not {chosen.isoformat()}"
        )
    return chosen
