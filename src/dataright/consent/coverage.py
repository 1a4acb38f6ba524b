"""The consent ledger under the audit chain: each event's content digest goes into its audit entry.

``audit.service.verify(session, [CONSENT_EVENTS])`` then finds an event whose row was edited or deleted,
or one written without its entry, even when the append-only triggers were dropped first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataright.audit.service import Coverage, content_digest
from dataright.consent.models import ConsentEvent

ENTITY_TYPE = "consent_event"
_COLUMNS = tuple(ConsentEvent.__table__.columns)
_NAMES = tuple(column.key for column in _COLUMNS)


_DOCUMENTS = frozenset({"receipt"})  # a JSON document (``Receipt.as_json``, or as read back from the column)


def event_digest(values: Mapping[Any, Any]) -> str:
    """SHA-256 over every column of one event (``values`` maps column names to values)."""
    return content_digest({name: values[name] for name in _NAMES}, documents=_DOCUMENTS)


def digest_of(event: ConsentEvent) -> str:
    """The digest of a flushed event object."""
    return event_digest({name: getattr(event, name) for name in _NAMES})


def _rows(session: Session) -> Iterator[tuple[int, str]]:
    rows = session.execute(
        select(*_COLUMNS).order_by(ConsentEvent.__table__.c.id).execution_options(yield_per=2_000)
    ).mappings()
    for row in rows:
        yield int(row["id"]), event_digest(row)


CONSENT_EVENTS = Coverage(entity_type=ENTITY_TYPE, label="consent event", rows=_rows)
