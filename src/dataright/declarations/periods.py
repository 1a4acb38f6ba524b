"""ISO 8601 periods (``P6M``, ``P5Y``, ``P30D``, ``PT72H``) with calendar-correct arithmetic.

Legal time limits are written in calendar units: "one month" from 31 January ends on the last day
of February, not 30 days later. ``Period.after`` adds years and months first, clamping to the end
of the month, then weeks, days and hours (GDPR Art. 12(3) read with Regulation 1182/71).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$"
)

_D = TypeVar("_D", date, datetime)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period. Construct with ``Period.parse("P6M")``."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PATTERN.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not an ISO 8601 period such as P6M, P5Y, P30D or PT72H")
        return cls(**{k: int(v) for k, v in match.groupdict().items() if v is not None})

    def iso(self) -> str:
        date_part = "".join(
            f"{value}{unit}"
            for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
            if value
        )
        time_part = "".join(f"{v}{u}" for v, u in ((self.hours, "H"), (self.minutes, "M")) if v)
        if not date_part and not time_part:
            return "P0D"
        return "P" + date_part + (f"T{time_part}" if time_part else "")

    def __str__(self) -> str:
        return self.iso()

    def __add__(self, other: Period) -> Period:
        """Field by field: P30D + P1M is P1M30D, counted as one period (a month, then 30 days)."""
        return Period(
            years=self.years + other.years,
            months=self.months + other.months,
            weeks=self.weeks + other.weeks,
            days=self.days + other.days,
            hours=self.hours + other.hours,
            minutes=self.minutes + other.minutes,
        )

    @property
    def is_zero(self) -> bool:
        return self == Period()

    def after(self, start: _D) -> _D:
        """The moment this period after ``start`` ends (months clamp to the month's last day)."""
        total_months = start.month - 1 + self.months + 12 * self.years
        year = start.year + total_months // 12
        month = total_months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        delta = timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes)
        if isinstance(moved, datetime):
            return moved + delta
        if self.hours or self.minutes:
            raise ValueError(f"{self.iso()} has hours; add it to a datetime, not a date")
        return moved + delta

    def approx_days(self) -> float:
        """Length in days for comparing periods (a month counts 30.44 days)."""
        return (
            self.years * 365.25
            + self.months * 30.4375
            + self.weeks * 7
            + self.days
            + self.hours / 24
            + self.minutes / 1440
        )

    # -- pydantic integration -------------------------------------------------------------
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Period:
            if isinstance(value, Period):
                return value
            if not isinstance(value, str):
                raise PydanticCustomError(
                    "period", "expected an ISO 8601 period such as P6M, got {value!r}", {"value": value}
                )
            try:
                return cls.parse(value)
            except ValueError as exc:
                raise PydanticCustomError("period", str(exc)) from None

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(lambda p: p.iso())
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _PATTERN.pattern,
            "examples": ["P6M", "P5Y", "P30D", "PT72H"],
            "description": "ISO 8601 period",
        }


PeriodField = Annotated[Period, "ISO 8601 period"]
