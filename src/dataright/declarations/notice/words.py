"""Locale-aware wording: durations, countries, dates and lists written out with Babel (CLDR data)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit

from dataright.declarations.periods import Period
from dataright.declarations.schema import Text

_UNITS = (
    ("years", "duration-year"),
    ("months", "duration-month"),
    ("weeks", "duration-week"),
    ("days", "duration-day"),
    ("hours", "duration-hour"),
    ("minutes", "duration-minute"),
)


def localized(text: Mapping[Any, str] | str | None, lang: str, fallback: str = "en") -> str:
    """The text in ``lang``; else in ``fallback``; else in any language it has. ``None`` gives ``""``.

    A plain string (a proper name) is the same in every language; a ``Text`` with translations picks one."""
    if not text:
        return ""
    if isinstance(text, Text):
        return text.in_language(lang, fallback)
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get(fallback) or text.get("en") or next(iter(text.values()))


# CLDR's long unit for a day in Norwegian and Swedish is the 24-hour "døgn" / "dygn"; a legal period of days is
# "dager" / "dagar" ("senest innen 30 dager").
_DAYS = {"nb": ("dag", "dager"), "sv": ("dag", "dagar")}

# Small numbers as words, for prose ("to måneder", "én måned"). The word for one agrees with the unit's gender (and,
# in German, stands in the accusative the notice's sentences use: "beträgt einen Monat", "um ein Jahr").
_NUMBERS = {
    "en": ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
    "nb": ("to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni", "ti", "elleve", "tolv"),
    "sv": ("två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv"),
    "da": ("to", "tre", "fire", "fem", "seks", "syv", "otte", "ni", "ti", "elleve", "tolv"),
    "de": ("zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf", "zwölf"),
    "fi": (
        "kaksi",
        "kolme",
        "neljä",
        "viisi",
        "kuusi",
        "seitsemän",
        "kahdeksan",
        "yhdeksän",
        "kymmenen",
        "yksitoista",
        "kaksitoista",
    ),
    "fr": ("deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze"),
}
_ONE = {
    "en": dict.fromkeys(("years", "months", "weeks", "days", "hours", "minutes"), "one"),
    "nb": {"years": "ett", "months": "én", "weeks": "én", "days": "én", "hours": "én", "minutes": "ett"},
    "sv": {"years": "ett", "months": "en", "weeks": "en", "days": "en", "hours": "en", "minutes": "en"},
    "da": {"years": "et", "months": "en", "weeks": "en", "days": "en", "hours": "en", "minutes": "et"},
    "de": {"years": "ein", "months": "einen", "weeks": "eine", "days": "einen", "hours": "eine", "minutes": "eine"},
    "fi": dict.fromkeys(("years", "months", "weeks", "days", "hours", "minutes"), "yksi"),
    "fr": {"years": "un", "months": "un", "weeks": "une", "days": "un", "hours": "une", "minutes": "une"},
}


def _amount(value: int, field: str, unit: str, lang: str, words: bool) -> str:
    if field == "days" and lang in _DAYS:
        one, many = _DAYS[lang]
        text = f"{value} {one if value == 1 else many}"
    else:
        text = str(format_unit(value, unit, locale=lang, length="long"))
    if not words or not 1 <= value <= 12 or lang not in _NUMBERS:
        return text
    word = _ONE[lang][field] if value == 1 else _NUMBERS[lang][value - 2]
    return re.sub(r"^\d+", word, text, count=1)


def duration(period: Period, lang: str, *, words: bool = False) -> str:
    """A period in words: ``P6M`` -> "6 måneder", ``P1Y6M`` -> "1 år og 6 måneder", ``P30D`` -> "30 dager".

    ``words=True`` writes numbers up to twelve as words, for prose: ``P2M`` -> "to måneder", ``P1M`` -> "én måned".
    """
    parts = [
        _amount(getattr(period, field), field, unit, lang, words) for field, unit in _UNITS if getattr(period, field)
    ]
    if not parts:
        return _amount(0, "days", "duration-day", lang, False)
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
