"""The server's key verifier: cached key rows for a few seconds, the hash still checked on every request,
revocation in this process at once and from another process within the cache's lifetime."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, update

from dataright.access.keycache import KEY_CACHE_SECONDS, KeyCache, VerifiedKey
from dataright.access.models import ApiKey
from dataright.access.service import KeyVerifier, create_key, revoke_key
from dataright.config import Settings
from dataright.errors import Unauthenticated
from dataright.storage.engine import make_session_factory, session_scope
from dataright.storage.types import utcnow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _snapshot(prefix: str = "0123456789ab") -> VerifiedKey:
    return VerifiedKey.of(
        id=uuid.uuid4(), prefix=prefix, hash="h", scopes=["consent:read"], controller_ids=["x"], revoked_at=None
    )


def _committed_key(engine: Engine, **overrides: object) -> str:
    arguments: dict[str, object] = {"name": "test", "scopes": ["consent:read"], "controller_ids": ["nexalearn"]}
    arguments.update(overrides)
    with session_scope(make_session_factory(engine)) as session:
        _, token = create_key(session, **arguments)  # type: ignore[arg-type]
    return token


def _revoke_behind_the_servers_back(engine: Engine, token: str) -> None:
    """What ``dataright keys revoke`` in another process does to the row: this process hears nothing of it."""
    with engine.begin() as connection:
        connection.execute(update(ApiKey).where(ApiKey.prefix == token.split("_")[1]).values(revoked_at=utcnow()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(engine: Engine, settings: Settings, clock: Clock) -> KeyVerifier:
    return KeyVerifier(engine, KeyCache(clock=clock))


def test_the_cache_lifetime_is_a_few_seconds() -> None:
    assert 1 <= KEY_CACHE_SECONDS <= 10


def test_a_snapshot_is_fresh_until_the_lifetime_has_passed(clock: Clock) -> None:
    cache = KeyCache(seconds=5, clock=clock)
    key = _snapshot()
    assert cache.put(key, cache.mark())
    clock.now += 4.9
    assert cache.get(key.prefix) is key
    clock.now += 0.1
    assert cache.get(key.prefix) is None


def test_a_row_read_before_a_key_was_forgotten_is_not_kept(clock: Clock) -> None:
    cache = KeyCache(clock=clock)
    key = _snapshot()
    mark = cache.mark()  # a request starts reading the row ...
    cache.forget(key.prefix)  # ... the key is revoked meanwhile ...
    assert not cache.put(key, mark)  # ... so what it read is not cached
    assert cache.get(key.prefix) is None
    assert cache.put(key, cache.mark())


def test_a_verified_key_is_then_answered_from_the_cache(engine: Engine, verifier: KeyVerifier) -> None:
    token = _committed_key(engine, controller_ids=["nexalearn", "nestpros"])
    assert verifier.cached(token) is None
    loaded = verifier.load(token)
    assert (loaded.scopes, loaded.controller_ids) == (("consent:read",), ("nestpros", "nexalearn"))
    assert loaded.may_act_for("nestpros") and not loaded.may_act_for("nestit-group-ab")
    assert verifier.cached(token) == loaded


def test_a_wrong_secret_is_refused_even_when_its_prefix_is_cached(engine: Engine, verifier: KeyVerifier) -> None:
    token = _committed_key(engine)
    verifier.load(token)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated):
        verifier.cached(forged)
    with pytest.raises(Unauthenticated):
        verifier.load(forged)


@pytest.mark.parametrize("bad", ["", "nonsense", "Bearer dr_x", "dr_0123456789ab_short"])
def test_malformed_tokens_are_refused_without_a_lookup(verifier: KeyVerifier, bad: str) -> None:
    with pytest.raises(Unauthenticated):
        verifier.cached(bad)


def test_a_well_formed_token_of_no_key_is_refused_by_the_lookup(verifier: KeyVerifier) -> None:
    token = "dr_0123456789ab_" + "x" * 43
    assert verifier.cached(token) is None
    with pytest.raises(Unauthenticated):
        verifier.load(token)
    assert verifier.cached(token) is None  # unknown prefixes are not cached


def test_a_key_revoked_in_this_process_is_refused_at_once(engine: Engine, verifier: KeyVerifier) -> None:
    token = _committed_key(engine)
    verifier.load(token)
    with session_scope(make_session_factory(engine)) as session:
        revoke_key(session, token.split("_")[1])
    assert verifier.cached(token) is None  # forgotten: the next request reads the row
    with pytest.raises(Unauthenticated):
        verifier.load(token)


def test_a_revocation_is_forgotten_again_when_it_commits(engine: Engine, verifier: KeyVerifier) -> None:
    token = _committed_key(engine)
    with session_scope(make_session_factory(engine)) as session:
        revoke_key(session, token.split("_")[1])
        verifier.load(token)  # a request reads the row as it was before the commit, and caches it
        assert verifier.cached(token) is not None
    assert verifier.cached(token) is None


def test_a_key_revoked_by_another_process_is_refused_once_the_cache_lifetime_has_passed(
    engine: Engine, verifier: KeyVerifier, clock: Clock
) -> None:
    token = _committed_key(engine)
    verifier.load(token)
    _revoke_behind_the_servers_back(engine, token)
    clock.now += KEY_CACHE_SECONDS - 0.5
    assert verifier.cached(token) is not None  # the documented window
    clock.now += 0.5
    assert verifier.cached(token) is None
    with pytest.raises(Unauthenticated):
        verifier.load(token)
    with pytest.raises(Unauthenticated):
        verifier.cached(token)  # the revoked row is cached as revoked
