"""API keys: create (the plaintext is shown once), authenticate, list, revoke; scope and controller checks.

A key is ``dr_<prefix>_<secret>``: 12 hex characters that find the row, then 256 random bits. Only the
SHA-256 of the whole token is stored. A salted slow hash (bcrypt, argon2) protects low-entropy passwords;
a 256-bit random secret cannot be guessed, so a fast hash costs nothing in safety and keeps every
authenticated request cheap.

``authenticate`` reads the row in the caller's session. A server uses ``KeyVerifier`` instead: it keeps the
rows it read for a few seconds (``access.keycache``), so most requests are checked without a query.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy.orm import Session

from dataright.access.keycache import KeyCache, VerifiedKey, forget_everywhere
from dataright.access.models import ALL_CONTROLLERS, ApiKey
from dataright.access.scopes import ADMIN, KNOWN_SCOPES, OPS_READ, grants
from dataright.audit.service import append as audit
from dataright.errors import NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from dataright.storage.types import utcnow

TOKEN = re.compile(r"^dr_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
CONTROLLER_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# Built once: every authenticated request runs it, and building a select per call costs twice as much.
_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))
_COLUMNS = ApiKey.__table__.c
_ROW_BY_PREFIX = select(
    _COLUMNS.id, _COLUMNS.prefix, _COLUMNS.hash, _COLUMNS.scopes, _COLUMNS.controller_ids, _COLUMNS.revoked_at
).where(_COLUMNS.prefix == bindparam("prefix"))
INVALID = "invalid or revoked API key"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"dr_{prefix}_{secrets.token_urlsafe(32)}"


def create_key(
    session: Session,
    *,
    name: str,
    scopes: Sequence[str],
    controller_ids: Sequence[str],
    actor: str = "cli",
) -> tuple[ApiKey, str]:
    """A new key and its plaintext token (shown once; only its hash is kept)."""
    if not scopes:
        raise ValidationFailed("scopes: at least one scope is needed")
    unknown = sorted(set(scopes) - set(KNOWN_SCOPES))
    if unknown:
        raise ValidationFailed(f"scopes: unknown {', '.join(unknown)}; known: {', '.join(KNOWN_SCOPES)}")
    if not controller_ids:
        raise ValidationFailed("controller_ids: at least one controller is needed")
    for controller_id in controller_ids:
        if controller_id != ALL_CONTROLLERS and not CONTROLLER_ID.fullmatch(controller_id):
            raise ValidationFailed(f"controller_ids: {controller_id!r} is not a controller id")
    # A monitoring key (``ops:read`` alone: counts, never records) spans every controller as admin keys do.
    if ALL_CONTROLLERS in controller_ids and ADMIN not in scopes and set(scopes) != {OPS_READ}:
        raise ValidationFailed(
            f"controller_ids: {ALL_CONTROLLERS!r} (every controller) is only for admin keys "
            f"and monitoring keys ({OPS_READ} alone)"
        )
    prefix, token = _new_token()
    key = ApiKey(
        prefix=prefix,
        hash=token_hash(token),
        name=name,
        scopes=sorted(set(scopes)),
        controller_ids=sorted(set(controller_ids)),
    )
    session.add(key)
    session.flush()
    audit(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=key.id,
        details={"prefix": prefix, "scopes": key.scopes, "controller_ids": key.controller_ids},
    )
    return key, token


def authenticate(session: Session, token: str) -> ApiKey:
    """The active key a token belongs to; ``Unauthenticated`` otherwise (one message for every failure)."""
    match = TOKEN.fullmatch(token.strip())
    if match is not None:
        key = session.execute(_BY_PREFIX, {"prefix": match["prefix"]}).scalar_one_or_none()
        if key is not None and key.active and hmac.compare_digest(key.hash, token_hash(token.strip())):
            return key
    raise Unauthenticated(INVALID)


class KeyVerifier:
    """Tokens to keys for a server, through a ``KeyCache``: ``cached`` answers from memory when it can,
    ``load`` reads the row (blocking; an ``async`` caller runs it in a worker thread) and caches it.

    Either way the token is compared with the stored hash in constant time and a revoked key is refused.
    """

    def __init__(self, engine: Engine, cache: KeyCache | None = None) -> None:
        self.engine = engine
        self.cache = cache if cache is not None else KeyCache()

    def cached(self, token: str) -> VerifiedKey | None:
        """The key, or None when the cache does not hold it fresh; ``Unauthenticated`` for a bad token."""
        key = self.cache.get(_prefix_of(token))
        return None if key is None else _accept(key, token)

    def load(self, token: str) -> VerifiedKey:
        """The key read from the database (and cached); ``Unauthenticated`` for a bad token."""
        prefix = _prefix_of(token)
        mark = self.cache.mark()
        with self.engine.connect() as connection:
            row = connection.execute(_ROW_BY_PREFIX, {"prefix": prefix}).one_or_none()
        if row is None:
            raise Unauthenticated(INVALID)
        key = VerifiedKey.of(
            id=row.id,
            prefix=row.prefix,
            hash=row.hash,
            scopes=row.scopes,
            controller_ids=row.controller_ids,
            revoked_at=row.revoked_at,
        )
        self.cache.put(key, mark)
        return _accept(key, token)


def _prefix_of(token: str) -> str:
    match = TOKEN.fullmatch(token.strip())
    if match is None:
        raise Unauthenticated(INVALID)
    return match["prefix"]


def _accept(key: VerifiedKey, token: str) -> VerifiedKey:
    if key.active and hmac.compare_digest(key.hash, token_hash(token.strip())):
        return key
    raise Unauthenticated(INVALID)


def find_key(session: Session, prefix: str) -> ApiKey:
    key = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if key is None:
        raise NotFound(f"no API key with prefix {prefix}")
    return key


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.prefix)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.execute(query).scalars())


def revoke_key(session: Session, prefix: str, *, actor: str = "cli") -> ApiKey:
    """Revoke the key: this process's key caches forget it now and when the transaction commits (a request
    between the two could otherwise cache the row as it was before the commit)."""
    key = find_key(session, prefix)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        audit(
            session,
            actor=actor,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=key.id,
            details={"prefix": prefix},
        )
        forget_everywhere(prefix)
        event.listen(session, "after_commit", lambda _session: forget_everywhere(prefix), once=True)
    return key


def ensure_scope(key: ApiKey | VerifiedKey, scope: str) -> None:
    if not grants(key.scopes, scope):
        raise PermissionDenied(f"this API key lacks the {scope!r} scope")


def ensure_controller(key: ApiKey | VerifiedKey, controller_id: str) -> None:
    """``PermissionDenied`` unless the key may act for ``controller_id``."""
    if not key.may_act_for(controller_id):
        raise PermissionDenied(f"this API key is not for controller {controller_id!r}")


def ensure_all_controllers(key: ApiKey | VerifiedKey) -> None:
    """For routes that span every controller (the whole audit chain): only ``*`` keys pass."""
    if not key.all_controllers:
        raise PermissionDenied("this route spans every controller; it needs a key for all controllers ('*')")


def actor_of(key: ApiKey | VerifiedKey) -> str:
    """How a key appears in the audit log."""
    return f"key:{key.prefix}"
