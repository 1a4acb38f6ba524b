"""Locale-aware wording: durations, countries, dates and lists written out with Babel (CLDR data)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit

from dataright.declarations.periods import Period

_UNITS = (
    ("years", "duration-year"),
    ("months", "duration-month"),
    ("weeks", "duration-week"),
    ("days", "duration-day"),
    ("hours", "duration-hour"),
    ("minutes", "duration-minute"),
)


def localized(text: Mapping[Any, str] | None, lang: str, fallback: str = "en") -> str:
    """The text in ``lang``; else in ``fallback``; else in any language it has. ``None`` gives ``""``."""
    if not text:
        return ""
    return text.get(lang) or text.get(fallback) or text.get("en") or next(iter(text.values()))


def duration(period: Period, lang: str) -> str:
    """A period in words: ``P6M`` -> "6 måneder", ``P1Y6M`` -> "1 år og 6 måneder"."""
    parts = [
        format_unit(getattr(period, field), unit, locale=lang, length="long")
        for field, unit in _UNITS
        if getattr(period, field)
    ]
    if not parts:
        return str(format_unit(0, "duration-day", locale=lang, length="long"))
    return join(parts, lang)


def country(code: str, lang: str) -> str:
    """A country's name in ``lang`` (the ISO code itself when CLDR does not know it)."""
    return str(Locale.parse(lang).territories.get(code, code))


def long_date(value: date, lang: str) -> str:
    return str(format_date(value, format="long", locale=lang))


def join(items: Iterable[str], lang: str, style: Literal["standard", "or"] = "standard") -> str:
    """``a, b and c`` (or ``a, b or c``) in ``lang``."""
    values = [i for i in items if i]
    return str(format_list(values, style=style, locale=lang)) if values else ""
