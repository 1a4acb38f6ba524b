"""IANA time zones for controllers: validating a declared name and the default from a country.

The country-to-zone table is the IANA database's own ``zone.tab``, read from the ``tzdata`` package
(the same data ``zoneinfo`` falls back on), never a list kept here. A country with one zone (Norway,
Sweden, Singapore) gets it by default; a country with several (the United States) must declare one.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def _zone_table() -> dict[str, tuple[str, ...]]:
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    by_country: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            for country in fields[0].split(","):
                by_country[country].append(fields[2])
    return {country: tuple(zones) for country, zones in by_country.items()}


def zones_of(country: str) -> tuple[str, ...]:
    """The IANA zones in use in ``country`` (ISO 3166 alpha-2), as the tz database lists them."""
    return _zone_table().get(country, ())


def default_timezone(country: str) -> str | None:
    """The country's zone when it has exactly one; ``None`` when the controller must declare it."""
    zones = zones_of(country)
    return zones[0] if len(zones) == 1 else None


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """True for an IANA zone name ``zoneinfo`` can load (``Europe/Oslo``, ``UTC``)."""
    if name not in _known():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def closest_timezones(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, sorted(_known()), n=1)
