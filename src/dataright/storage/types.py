"""Column types that behave the same on SQLite and PostgreSQL.

* ``UTCDateTime``: aware datetimes in, aware UTC datetimes out. PostgreSQL stores ``timestamptz``; SQLite,
  which has no time zones, stores the UTC wall time. A naive datetime is refused rather than guessed at.
* ``JSONType``: ``JSON`` everywhere, ``JSONB`` on PostgreSQL (comparable, indexable).
* UUIDs: use SQLAlchemy's own ``Uuid`` (native ``uuid`` on PostgreSQL, ``CHAR(32)`` on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; dataright stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (what every ``at`` column defaults to)."""
    return datetime.now(UTC)
