"""Claim an idempotency key inside a write's transaction, store the answer, replay it, purge old keys.

The rule (as in Stripe's API): the first request with a key runs and its answer is kept with the key; a
retry with the same key and the same request gets that answer again and writes nothing; the same key with
a different request is refused (``IdempotencyKeyReused``, 422); a retry while the first request has not
finished is refused (``IdempotencyKeyInFlight``, 409) and may be sent again. Keys are kept for
``KEY_LIFETIME``; after that the key is free again and ``purge_expired`` removes the row.

The key's row is added in the caller's transaction before the write and completed with the answer before
the commit, so the write and its key commit together or not at all: a failed request leaves no key, and
its retry runs afresh.
"""

from __future__ import annotations

import hashlib
import typing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from dataright.errors import Conflict, ValidationFailed
from dataright.idempotency.models import IdempotencyKey
from dataright.storage.statements import dialect_of, upsert_insert
from dataright.storage.types import utcnow

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class InvalidIdempotencyKey(ValidationFailed):
    title = "Invalid idempotency key"


class IdempotencyKeyReused(ValidationFailed):
    title = "Idempotency key reused"


class IdempotencyKeyInFlight(Conflict):
    title = "Request with this idempotency key in progress"


@dataclass(frozen=True, slots=True)
class Answer:
    """The first answer to a request, kept to be replayed."""

    status: int
    media_type: str | None
    body: bytes


def check_key(key: str) -> str:
    """The key if it is 1 to 255 visible ASCII characters; ``InvalidIdempotencyKey`` otherwise."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all("!" <= c <= "~" for c in key):
        raise InvalidIdempotencyKey(
            f"header Idempotency-Key: expected 1 to {MAX_KEY_LENGTH} visible ASCII characters (a UUID, say)"
        )
    return key


def fingerprint(*parts: bytes | str) -> str:
    """A SHA-256 over the parts of a request (method, path, query, body), each length-prefixed."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _row(session: Session, scope: str, key: str) -> IdempotencyKey | None:
    statement = select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    return session.execute(statement.execution_options(populate_existing=True)).scalar_one_or_none()


def _answer_of(row: IdempotencyKey, fingerprint_: str) -> Answer:
    if row.fingerprint != fingerprint_:
        raise IdempotencyKeyReused(
            "header Idempotency-Key: this key was used for a different request; use a new key for a new request"
        )
    if row.status is None or row.body is None:
        raise IdempotencyKeyInFlight(
            "header Idempotency-Key: the first request with this key has not finished; retry in a moment"
        )
    return Answer(row.status, row.media_type, row.body)


def look_up(session: Session, *, scope: str, key: str, fingerprint: str, now: datetime | None = None) -> Answer | None:
    """Read only: the first answer when the key was used for this request and is still alive, None when it is
    unknown or expired; raises as ``claim`` does for another request under the key. ``claim`` still decides
    (in the write's transaction); this lets a retry be answered before its body is even validated."""
    row = _row(session, scope, key)
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return _answer_of(row, fingerprint)


_KEYS = typing.cast(Table, IdempotencyKey.__table__)
_CLAIMS: dict[str, Any] = {}  # per dialect: INSERT ... ON CONFLICT DO NOTHING RETURNING key
_COMPLETE = (
    update(_KEYS)
    .where(_KEYS.c.scope == bindparam("s"), _KEYS.c.key == bindparam("k"))
    .values(status=bindparam("status"), media_type=bindparam("media_type"), body=bindparam("body"))
)


def _claim_statement(session: Session) -> Any:
    dialect = dialect_of(session)
    statement = _CLAIMS.get(dialect)
    if statement is None:
        statement = upsert_insert(_KEYS, dialect).on_conflict_do_nothing(index_elements=["scope", "key"])
        statement = _CLAIMS[dialect] = statement.returning(_KEYS.c.key)
    return statement


def claim(session: Session, *, scope: str, key: str, fingerprint: str, now: datetime | None = None) -> Answer | None:
    """``None`` when this is the first request with the key (its row is now part of the caller's transaction);
    the first answer when it is a retry of the same request. Raises ``IdempotencyKeyReused`` for another
    request under the same key and ``IdempotencyKeyInFlight`` while the first has not committed.

    The first request's claim is one ``INSERT ... ON CONFLICT DO NOTHING``; a key already held (PostgreSQL
    waits for the transaction that holds it to end first) is read and answered as its first request was.
    """
    now = now or utcnow()
    values = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint,
        "status": None,
        "media_type": None,
        "body": None,
        "created_at": now,
        "expires_at": now + KEY_LIFETIME,
    }
    for _ in range(2):
        if session.execute(_claim_statement(session), values).first() is not None:
            return None
        row = _row(session, scope, key)
        if row is None:
            continue  # purged since: claim it again
        if row.expires_at <= now:
            session.execute(delete(_KEYS).where(_KEYS.c.scope == scope, _KEYS.c.key == key, _KEYS.c.expires_at <= now))
            continue  # its lifetime has ended: the key is free again
        return _answer_of(row, fingerprint)
    raise IdempotencyKeyInFlight(
        "header Idempotency-Key: the first request with this key has not finished; retry in a moment"
    )


def complete(session: Session, *, scope: str, key: str, answer: Answer) -> None:
    """Keep the answer with the key claimed in this transaction (before it commits): one UPDATE."""
    if not session.in_transaction():
        raise RuntimeError("complete() needs the transaction that claimed the key")
    result = session.execute(
        _COMPLETE, {"s": scope, "k": key, "status": answer.status, "media_type": answer.media_type, "body": answer.body}
    )
    if getattr(result, "rowcount", 1) != 1:
        raise RuntimeError("complete() needs the transaction that claimed the key")


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete the keys whose lifetime has ended; how many."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)
