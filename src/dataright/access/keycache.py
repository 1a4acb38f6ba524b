"""Verified API keys kept in memory for a few seconds, so an authenticated request needs no query.

A server authenticates every request; reading the key's row each time costs a query and, in an ``async``
route, a hop to a worker thread. ``KeyCache`` keeps a snapshot of each key row it read (its hash, scopes,
controllers and ``revoked_at``) for ``KEY_CACHE_SECONDS``. The token is still compared with the stored hash
on every request, in constant time; the cache saves the lookup, never the check.

Revocation:

* in the same process (``access.service.revoke_key``) it takes effect at once: every live cache forgets the
  key when it is revoked and again when that transaction commits, and a read that started before the
  revocation cannot put the old row back (see ``KeyCache.put``);
* in another process (``dataright keys revoke`` beside a running server, or another server worker) it takes
  effect within ``KEY_CACHE_SECONDS``, when the cached snapshot expires and the row is read again.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from dataright.access.models import KeyGrants

KEY_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class VerifiedKey(KeyGrants):
    """What a request needs of an API key row: an immutable snapshot, safe to share between threads."""

    id: uuid.UUID
    prefix: str
    hash: str
    scopes: tuple[str, ...]
    controller_ids: tuple[str, ...]
    revoked_at: datetime | None

    @classmethod
    def of(
        cls,
        *,
        id: uuid.UUID,
        prefix: str,
        hash: str,
        scopes: Iterable[str],
        controller_ids: Iterable[str],
        revoked_at: datetime | None,
    ) -> VerifiedKey:
        return cls(id, prefix, hash, tuple(scopes), tuple(controller_ids), revoked_at)


class ReadMark(NamedTuple):
    forgotten: int
    started: float


class KeyCache:
    """Key snapshots by prefix, each fresh for ``seconds`` after it was read."""

    def __init__(self, seconds: float = KEY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, VerifiedKey]] = {}
        self._forgotten = 0  # how many times a key was forgotten; a read that began before one is not stored
        self._lock = threading.Lock()
        _live_caches.add(self)

    def get(self, prefix: str) -> VerifiedKey | None:
        """The fresh snapshot of the key with ``prefix``, or None (never read, expired or forgotten)."""
        entry = self._entries.get(prefix)
        if entry is None:
            return None
        read_at, key = entry
        if self._clock() - read_at >= self.seconds:
            return None
        return key

    def mark(self) -> ReadMark:
        """Take before reading a key row; hand to ``put`` with what was read."""
        return ReadMark(self._forgotten, self._clock())

    def put(self, key: VerifiedKey, mark: ReadMark) -> bool:
        """Keep ``key``, fresh from when ``mark`` was taken, unless a key was forgotten since (the row that was
        read may predate a revocation). Whether it was kept."""
        with self._lock:
            if self._forgotten != mark.forgotten:
                return False
            self._entries[key.prefix] = (mark.started, key)
            return True

    def forget(self, prefix: str) -> None:
        with self._lock:
            self._forgotten += 1
            self._entries.pop(prefix, None)


_live_caches: weakref.WeakSet[KeyCache] = weakref.WeakSet()


def forget_everywhere(prefix: str) -> None:
    """Drop the key with ``prefix`` from every cache of this process (on revocation)."""
    for cache in list(_live_caches):
        cache.forget(prefix)
