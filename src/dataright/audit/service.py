"""Append to and verify the hash-chained audit log.

Each entry's ``hash`` is SHA-256 over a canonical JSON of its own fields (id included) and the previous
entry's hash, so editing an entry breaks its own hash and deleting, inserting or reordering breaks the link
to its neighbour. Ids run 1, 2, 3 … without gaps: the service assigns them while holding the log's lock
(``pg_advisory_xact_lock`` on PostgreSQL; on SQLite the database's single write lock, taken up front by a
writer's ``BEGIN IMMEDIATE``). If two appenders ever raced anyway, the primary key makes the second fail
instead of forking the chain.

The chain cannot prove that nothing was cut off its end; ``VerifyReport.last_id``/``last_hash`` are the
anchor to record elsewhere (a ticket, a log shipper) and compare next time.

Details hold ids, counts and reasons, never personal data; strings that look like an e-mail address are
refused, floats too (a JSONB round trip may rewrite them, which would break the hash).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dataright.audit.models import GENESIS_HASH, AuditEntry
from dataright.storage.types import utcnow

# Any constant shared by every appender; it only has to differ from other advisory locks in the database.
AUDIT_LOCK_KEY = 7_214_006_302
EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
VERIFY_BATCH = 2_000


def _check_details(value: Any, path: str = "details") -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        raise ValueError(f"{path}: floats are not allowed in audit details (use an integer or a string)")
    if isinstance(value, str):
        if EMAIL_LIKE.search(value):
            raise ValueError(f"{path}: looks like an e-mail address; audit details hold ids, never personal data")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_details(item, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be strings")
            _check_details(item, f"{path}.{key}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not allowed in audit details")


def _plain(value: Any) -> Any:
    """Tuples to lists, so what is hashed is what JSON reads back."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def entry_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    controller_id: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry and its predecessor's hash."""
    document = {
        "id": id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "controller_id": controller_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | uuid.UUID | int,
    controller_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (it commits or rolls back with the change it records)."""
    details = _plain(dict(details or {}))
    _check_details(details)
    _lock(session)
    session.flush()  # earlier entries of this transaction get their place first
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    new_id, prev_hash = (last.id + 1, last.hash) if last is not None else (1, GENESIS_HASH)
    fields: dict[str, Any] = {
        "id": new_id,
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "controller_id": controller_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(**fields, hash=entry_hash(**fields))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str | None = None
    last_id: int | None = None
    last_hash: str | None = None

    def __str__(self) -> str:
        if self.ok:
            head = f"; head #{self.last_id} {self.last_hash}" if self.last_id is not None else ""
            return f"audit chain intact: {self.checked} entries{head}"
        return f"audit chain broken at entry #{self.first_bad_id}: {self.reason}"


def verify(session: Session) -> VerifyReport:
    """Walk the whole chain in id order; report the first entry that is edited, missing a predecessor or moved."""
    columns = (
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.entity_type,
        AuditEntry.entity_id,
        AuditEntry.controller_id,
        AuditEntry.details,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    expected_id, prev_hash, checked = 1, GENESIS_HASH, 0
    rows = session.execute(select(*columns).order_by(AuditEntry.id).execution_options(yield_per=VERIFY_BATCH))
    for row in rows:
        if row.id != expected_id:
            missing = f"#{expected_id}" if row.id == expected_id + 1 else f"#{expected_id}-#{row.id - 1}"
            return VerifyReport(False, checked, row.id, f"entry {missing} is missing (deleted)")
        recomputed = entry_hash(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            controller_id=row.controller_id,
            details=row.details,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            return VerifyReport(False, checked, row.id, "its content does not match its hash (edited or moved)")
        if row.prev_hash != prev_hash:
            where = f"entry #{row.id - 1}" if row.id > 1 else "the start of the chain"
            return VerifyReport(
                False, checked, row.id, f"it does not follow {where} (an entry was replaced, inserted or reordered)"
            )
        checked += 1
        expected_id, prev_hash = row.id + 1, row.hash
    last_id = expected_id - 1 if checked else None
    return VerifyReport(True, checked, last_id=last_id, last_hash=prev_hash if checked else None)
