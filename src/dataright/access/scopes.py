"""API scopes. ``admin`` grants every scope; ``<area>:write`` grants ``<area>:read``.

A new area (``requests``, ``retention``…) adds its scopes to ``KNOWN_SCOPES``; keys with unknown scopes are refused.
"""

from __future__ import annotations

from collections.abc import Iterable

ADMIN = "admin"
CONSENT_READ = "consent:read"
CONSENT_WRITE = "consent:write"
REQUESTS_READ = "requests:read"
REQUESTS_WRITE = "requests:write"
BREACH_READ = "breach:read"
BREACH_WRITE = "breach:write"
OPS_READ = "ops:read"
"""Operations: the Prometheus metrics at ``/metrics`` (counts only, for every controller)."""
DISCLOSURES_READ = "disclosures:read"
COOKIES_READ = "cookies:read"
COOKIES_WRITE = "cookies:write"
"""Cookie scans of a controller's sites: ask for one (a job), read what it found."""
KNOWN_SCOPES: tuple[str, ...] = (
    CONSENT_READ,
    CONSENT_WRITE,
    REQUESTS_READ,
    REQUESTS_WRITE,
    BREACH_READ,
    BREACH_WRITE,
    OPS_READ,
    DISCLOSURES_READ,
    COOKIES_READ,
    COOKIES_WRITE,
    ADMIN,
)


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether scopes ``held`` include ``needed``, directly or by implication."""
    held = set(held)
    if needed in held or ADMIN in held:
        return True
    area, _, action = needed.partition(":")
    return action == "read" and f"{area}:write" in held
