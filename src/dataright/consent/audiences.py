"""Hashed e-mail audiences for Google Customer Match and Meta Custom Audiences.

Both take the SHA-256 hex digest of the normalised address: surrounding whitespace removed, all
lower case. Google also documents an optional removal of dots and ``+suffix`` in gmail.com local parts;
we do not rewrite addresses per provider, so one file serves both and matches what the person typed.
"""

from __future__ import annotations

import hashlib


def normalise_email(address: str) -> str:
    normalised = address.strip().lower()
    local, at, domain = normalised.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in normalised):
        raise ValueError("not an e-mail address")  # the value itself is personal data: never echo it
    return normalised


def hash_email(address: str) -> str:
    """The lowercase hex SHA-256 of the normalised address, as the ad platforms expect."""
    return hashlib.sha256(normalise_email(address).encode("utf-8")).hexdigest()
