"""Append to, seal and verify the hash-chained audit log.

**Appending** (``append``) inserts an entry in the caller's transaction and reads nothing: no lock, no
"last entry", so concurrent writers never wait for each other here. The entry commits or rolls back with
the change it records.

**Sealing** (``seal``) gives committed entries their place in the chain, as Certificate Transparency logs
do with submitted certificates: in append order, each gets ``seq`` (1, 2, 3 … without gaps), the previous
entry's hash and its own hash, SHA-256 over a canonical JSON of its fields (``seq`` as ``"id"``) and that
previous hash. Editing a sealed entry breaks its own hash; deleting, inserting or reordering breaks a
link or leaves a gap in ``seq``. One sealer runs at a time (``pg_advisory_xact_lock`` on PostgreSQL,
SQLite's single write lock); a sealer that finds another one at work skips its turn, and sealing twice
changes nothing, so every server process may run one (``audit.sealer``).

**Covered records.** A domain whose rows must be as tamper-evident as the log (the consent ledger) puts
each row's content digest (``content_digest``) into its audit entry under ``details["sha256"]`` and hands
``verify`` a ``Coverage``: every row must have an entry with a matching digest and every such entry a row,
so an edited or deleted row fails verification even when the database's own guards (triggers) were
dropped.

**Cutting entries off the end** leaves a valid, shorter chain. A signed head (``SignedHead``: sequence,
hash, time and an HMAC-SHA256 with a key derived from the secret) recorded elsewhere catches it:
``check_head`` fails when the chain is shorter than the head or differs from it at the head's entry.

Details hold ids, counts, reasons and digests, never personal data; strings that look like an e-mail
address are refused, floats too (a JSONB round trip may rewrite them, which would break the hash).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, Table, bindparam, cast, func, insert, select, text, update
from sqlalchemy.orm import Session

from dataright.audit.models import GENESIS_HASH, AuditEntry
from dataright.storage.autocommit import AutocommitConnections
from dataright.storage.statements import OneStatement, attach
from dataright.storage.types import utcnow

# Any constant shared by every sealer; it only has to differ from other advisory locks in the database.
AUDIT_LOCK_KEY = 7_214_006_302
EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
VERIFY_BATCH = 2_000
SEAL_BATCH = 5_000
DIGEST_KEY = "sha256"
HEAD_CONTEXT = "dataright/audit-head/v1"


def _check_details(value: Any, path: str = "details") -> None:
    kind = type(value)
    if value is None or kind is int or kind is bool:  # the usual leaves first: ABC checks below are slower
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
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # the usual leaves, without ABC checks
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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
    """SHA-256 (hex) of the canonical JSON of an entry and its predecessor's hash; ``id`` is its place in the
    chain (``seq``)."""
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
    return hashlib.sha256(_canonical(document)).hexdigest()


def _digest_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _digest_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_digest_value(v) for v in value]
    return value


def content_digest(record: Mapping[str, Any], *, documents: frozenset[str] = frozenset()) -> str:
    """SHA-256 (hex) of a row's content: column name to value, datetimes in UTC, UUIDs as strings.

    ``documents`` names columns holding JSON documents (string keys, JSON values only, as a JSON column
    reads back): they are hashed as they are, without a walk through every nested value first.
    """
    plain = {str(k): v if k in documents else _digest_value(v) for k, v in record.items()}
    return hashlib.sha256(_canonical(plain)).hexdigest()


_AUDIT_TABLE = typing.cast(Table, AuditEntry.__table__)
_INSERT = insert(_AUDIT_TABLE)
_APPEND = _INSERT.returning(_AUDIT_TABLE.c.id)


def append_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | uuid.UUID | int,
    controller_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """``append`` for a write path that needs only the new entry's id: one INSERT ... RETURNING, no object."""
    return int(
        session.execute(
            _APPEND, _entry_values(actor, action, entity_type, entity_id, controller_id, details)
        ).scalar_one()
    )


def append_alone(
    bind: Engine,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | uuid.UUID | int,
    controller_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    connections: AutocommitConnections | None = None,
) -> None:
    """Append an entry in a short transaction of its own, for what was done outside dataright's database (a
    datastore read, a sweep's batch): one INSERT and its commit, no session to set up around them.
    ``connections``: kept by a caller that appends often (a worker's engine), instead of the pool's."""
    values = _entry_values(actor, action, entity_type, entity_id, controller_id, details)
    statement = _ALONE.get(bind.dialect.name)
    if statement is None:
        statement = _ALONE[bind.dialect.name] = OneStatement(_INSERT, bind.dialect, column_keys=list(values))
    statement.write(bind, values, connections=connections)


_ALONE: dict[str, OneStatement] = {}
"""The entry's INSERT compiled for each dialect ``append_alone`` has met."""


def _entry_values(
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | uuid.UUID | int,
    controller_id: str | None,
    details: Mapping[str, Any] | None,
) -> dict[str, Any]:
    plain = _plain(dict(details or {}))
    _check_details(plain)
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "controller_id": controller_id,
        "details": plain,
    }


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
    """Append an entry in the caller's transaction (it commits or rolls back with the change it records);
    the sealer chains it after commit."""
    values = _entry_values(actor, action, entity_type, entity_id, controller_id, details)
    entry_id = session.execute(_APPEND, values).scalar_one()
    entry = AuditEntry(id=entry_id, seq=None, prev_hash=None, hash=None, **values)
    attach(session, entry)
    return entry


# ------------------------------------------------------------------------------------------------
# sealing
# ------------------------------------------------------------------------------------------------
def _take_seal_lock(session: Session, *, wait: bool) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the caller's transaction holds the database's write lock (BEGIN IMMEDIATE)
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY}).scalar())


def last_sealed(session: Session) -> tuple[int, str]:
    """``(seq, hash)`` of the chain's last sealed entry; ``(0, GENESIS_HASH)`` when none is."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.seq.is_not(None))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if row is None or row.seq is None or row.hash is None:
        return 0, GENESIS_HASH
    return row.seq, row.hash


def seal(session: Session, *, limit: int = SEAL_BATCH, wait: bool = True) -> int:
    """Chain up to ``limit`` unsealed entries in the caller's transaction, oldest append first; returns how many.

    With ``wait=False`` it returns 0 at once when another sealer holds the lock (PostgreSQL).
    """
    if not _take_seal_lock(session, wait=wait):
        return 0
    session.flush()
    seq, prev_hash = last_sealed(session)
    rows = session.execute(
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.entity_type,
            AuditEntry.entity_id,
            AuditEntry.controller_id,
            AuditEntry.details,
        )
        .where(AuditEntry.seq.is_(None))
        .order_by(AuditEntry.id)
        .limit(limit)
    ).all()
    updates: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        digest = entry_hash(
            id=seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            controller_id=row.controller_id,
            details=row.details,
            prev_hash=prev_hash,
        )
        updates.append({"row_id": row.id, "seq": seq, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    if updates:
        table = typing.cast(Table, AuditEntry.__table__)
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.seq.is_(None))
            .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash")),
            updates,
        )
        session.expire_all()
    return len(updates)


def seal_pending(new_session: Callable[[], Any], *, wait: bool = True, limit: int = SEAL_BATCH) -> int:
    """Seal everything committed so far, a batch per short transaction; returns how many were sealed.

    ``new_session()`` gives a context manager yielding a writer session (``storage.engine.session_scope``).
    """
    total = 0
    while True:
        with new_session() as session:
            done = seal(session, limit=limit, wait=wait)
        total += done
        if done < limit:
            return total


# ------------------------------------------------------------------------------------------------
# verifying
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Rows another domain wants covered by the chain: ``rows(session)`` yields ``(id, content digest)`` in
    ascending id order for every row of ``entity_type`` (named ``label`` in reports)."""

    entity_type: str
    label: str
    rows: Callable[[Session], Iterable[tuple[int, str]]]


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    unsealed: int = 0
    covered: int = 0

    def __str__(self) -> str:
        if not self.ok:
            where = f" at entry #{self.first_bad_seq}" if self.first_bad_seq is not None else ""
            return f"audit chain broken{where}: {self.reason}"
        head = f"; head #{self.last_seq} {self.last_hash}" if self.last_seq is not None else ""
        covered = f"; {self.covered} covered records match" if self.covered else ""
        tail = f"; {self.unsealed} entries appended but not sealed yet" if self.unsealed else ""
        return f"audit chain intact: {self.checked} entries{head}{covered}{tail}"

    def failed(self, first_bad_seq: int | None, reason: str) -> VerifyReport:
        return VerifyReport(False, self.checked, first_bad_seq, reason, self.last_seq, self.last_hash, self.unsealed)


def snapshot(session: Session) -> None:
    """On PostgreSQL, read everything that follows from one snapshot (REPEATABLE READ), so a row and its
    entry committed mid-verification are seen together. Call before the session's first statement."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(session: Session, coverage: Iterable[Coverage] = ()) -> VerifyReport:
    """Walk the sealed chain in ``seq`` order, then the covered records; report the first thing that is wrong."""
    snapshot(session)
    report = _verify_chain(session)
    if not report.ok:
        return report
    covered = 0
    for cover in coverage:
        count, problem = _verify_coverage(session, cover)
        if problem is not None:
            return report.failed(problem[0], problem[1])
        covered += count
    return VerifyReport(True, report.checked, None, None, report.last_seq, report.last_hash, report.unsealed, covered)


def _verify_chain(session: Session) -> VerifyReport:
    columns = (
        AuditEntry.seq,
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
    expected, prev_hash, checked = 1, GENESIS_HASH, 0
    rows = session.execute(
        select(*columns)
        .where(AuditEntry.seq.is_not(None))
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=VERIFY_BATCH)
    )
    for row in rows:
        if row.seq != expected:
            missing = f"#{expected}" if row.seq == expected + 1 else f"#{expected}-#{row.seq - 1}"
            return VerifyReport(False, checked, row.seq, f"entry {missing} is missing (deleted)")
        recomputed = entry_hash(
            id=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            controller_id=row.controller_id,
            details=row.details,
            prev_hash=row.prev_hash or "",
        )
        if recomputed != row.hash:
            return VerifyReport(False, checked, row.seq, "its content does not match its hash (edited or moved)")
        if row.prev_hash != prev_hash:
            where = f"entry #{row.seq - 1}" if row.seq > 1 else "the start of the chain"
            return VerifyReport(
                False, checked, row.seq, f"it does not follow {where} (an entry was replaced, inserted or reordered)"
            )
        checked += 1
        expected, prev_hash = row.seq + 1, row.hash
    rows.close()
    unsealed = session.execute(select(func.count()).where(AuditEntry.seq.is_(None))).scalar_one()
    last_seq = expected - 1 if checked else None
    return VerifyReport(True, checked, last_seq=last_seq, last_hash=prev_hash if checked else None, unsealed=unsealed)


def _entries_of(session: Session, entity_type: str) -> Iterator[tuple[int, int | None, str]]:
    """``(entity id, seq, digest)`` of the entries carrying a digest for ``entity_type``, by entity id."""
    rows = session.execute(
        select(AuditEntry.entity_id, AuditEntry.seq, AuditEntry.details)
        .where(AuditEntry.entity_type == entity_type)
        .order_by(cast(AuditEntry.entity_id, BigInteger))
        .execution_options(yield_per=VERIFY_BATCH)
    )
    for entity_id, seq, details in rows:
        digest = details.get(DIGEST_KEY) if isinstance(details, Mapping) else None
        if isinstance(digest, str):
            yield int(entity_id), seq, digest


def _name(seq: int | None) -> str:
    return f"audit entry #{seq}" if seq is not None else "an audit entry not sealed yet"


def _verify_coverage(session: Session, cover: Coverage) -> tuple[int, tuple[int | None, str] | None]:
    """Merge the rows and their entries, both in id order; ``(rows checked, (seq, reason) or None)``."""
    entries = _entries_of(session, cover.entity_type)
    entry = next(entries, None)
    count = 0
    for row_id, digest in cover.rows(session):
        if entry is not None and entry[0] < row_id:
            return count, (entry[1], f"{cover.label} #{entry[0]} is missing (deleted), {_name(entry[1])} records it")
        if entry is None or entry[0] != row_id:
            return count, (None, f"{cover.label} #{row_id} has no audit entry (written around the ledger)")
        matched = False
        while entry is not None and entry[0] == row_id:
            matched = matched or hmac.compare_digest(entry[2], digest)
            seq = entry[1]
            entry = next(entries, None)
        if not matched:
            return count, (seq, f"{cover.label} #{row_id} was edited: its content does not match {_name(seq)}")
        count += 1
    if entry is not None:
        return count, (entry[1], f"{cover.label} #{entry[0]} is missing (deleted), {_name(entry[1])} records it")
    return count, None


# ------------------------------------------------------------------------------------------------
# signed heads
# ------------------------------------------------------------------------------------------------
class HeadError(ValueError):
    """A signed head that cannot be read or whose signature does not match."""


@dataclass(frozen=True)
class SignedHead:
    """The chain's last sealed entry at a moment, signed: what ``audit head`` prints and the server writes."""

    seq: int
    hash: str
    at: datetime
    signature: str

    @staticmethod
    def _message(seq: int, hash_: str, at: datetime) -> bytes:
        return f"{HEAD_CONTEXT}\n{seq}\n{hash_}\n{at.astimezone(UTC).isoformat(timespec='seconds')}".encode()

    @classmethod
    def sign(cls, key: bytes, seq: int, hash_: str, at: datetime) -> SignedHead:
        at = at.astimezone(UTC).replace(microsecond=0)
        mac = hmac.new(key, cls._message(seq, hash_, at), hashlib.sha256).hexdigest()
        return cls(seq, hash_, at, f"hmac-sha256:{mac}")

    def valid(self, key: bytes) -> bool:
        expected = SignedHead.sign(key, self.seq, self.hash, self.at).signature
        return hmac.compare_digest(expected, self.signature)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at.isoformat(timespec="seconds"),
            "signature": self.signature,
        }

    def dumps(self) -> str:
        return json.dumps(self.as_json(), indent=2) + "\n"

    @classmethod
    def loads(cls, raw: str) -> SignedHead:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise HeadError(f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        if not isinstance(data, dict):
            raise HeadError("expected a JSON object with seq, hash, at and signature")
        missing = [name for name in ("seq", "hash", "at", "signature") if name not in data]
        if missing:
            raise HeadError(f"missing {', '.join(missing)}")
        seq, hash_, at, signature = data["seq"], data["hash"], data["at"], data["signature"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise HeadError("seq: expected a whole number >= 0")
        if not isinstance(hash_, str) or not re.fullmatch(r"[0-9a-f]{64}", hash_):
            raise HeadError("hash: expected 64 hex digits")
        if not isinstance(signature, str):
            raise HeadError("signature: expected a string")
        try:
            when = datetime.fromisoformat(str(at))
        except ValueError:
            raise HeadError("at: expected an ISO 8601 time") from None
        if when.tzinfo is None:
            raise HeadError("at: expected a time with its UTC offset")
        return cls(seq, hash_, when.astimezone(UTC), signature)


def current_head(session: Session, key: bytes) -> SignedHead:
    """The signed head of the sealed chain now (``seq`` 0 and the genesis hash for an empty chain)."""
    seq, hash_ = last_sealed(session)
    return SignedHead.sign(key, seq, hash_, utcnow())


def check_head(session: Session, head: SignedHead, key: bytes) -> str | None:
    """Why the chain does not extend ``head`` (signature, cut off, diverged), or None when it does."""
    if not head.valid(key):
        return "its signature does not match (written with another secret key, or edited)"
    if head.seq == 0:
        return None
    row = session.execute(select(AuditEntry.hash).where(AuditEntry.seq == head.seq)).first()
    if row is None:
        last, _ = last_sealed(session)
        return (
            f"the chain ends at entry #{last} but the head signed {head.at.isoformat()} names entry #{head.seq}: "
            "entries were cut off the end"
        )
    if row.hash != head.hash:
        return (
            f"entry #{head.seq} differs from the head signed {head.at.isoformat()}: "
            "the chain diverges (rewritten from there on)"
        )
    return None
