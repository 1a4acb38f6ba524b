"""The fideslang taxonomy, read from the package rather than retyped."""

from __future__ import annotations

from functools import cache

from fideslang.default_taxonomy import DEFAULT_TAXONOMY

FIDES_CATEGORY_KEYS: frozenset[str] = frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category)
FIDES_DATA_USE_KEYS: frozenset[str] = frozenset(u.fides_key for u in DEFAULT_TAXONOMY.data_use)
FIDES_SUBJECT_KEYS: frozenset[str] = frozenset(s.fides_key for s in DEFAULT_TAXONOMY.data_subject)

# GDPR Art. 9(1) special categories (and Art. 10 criminal data), as fideslang keys.
_SPECIAL_PREFIXES = (
    "user.biometric",
    "user.health_and_medical",
    "user.demographic.race_ethnicity",
    "user.demographic.political_opinion",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
    "user.criminal_history",
    "user.authorization.biometric",
)


def is_special_fides_key(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in _SPECIAL_PREFIXES)


@cache
def fides_category_names() -> dict[str, str]:
    """fideslang key -> its English name (translations live in the Babel catalogs)."""
    return {c.fides_key: c.name or c.fides_key for c in DEFAULT_TAXONOMY.data_category}


@cache
def fides_use_names() -> dict[str, str]:
    return {u.fides_key: u.name or u.fides_key for u in DEFAULT_TAXONOMY.data_use}
