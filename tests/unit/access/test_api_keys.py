"""API keys: hashed at rest, scoped, per controller, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from dataright.access.models import ApiKey
from dataright.access.scopes import grants
from dataright.access.service import (
    authenticate,
    create_key,
    ensure_all_controllers,
    ensure_controller,
    ensure_scope,
    list_keys,
    revoke_key,
)
from dataright.errors import PermissionDenied, Unauthenticated, ValidationFailed


def _key(session: Session, **overrides: object) -> tuple[ApiKey, str]:
    arguments: dict[str, object] = {"name": "test", "scopes": ["consent:read"], "controller_ids": ["nexalearn"]}
    arguments.update(overrides)
    return create_key(session, **arguments)  # type: ignore[arg-type]


def test_a_created_key_authenticates_and_only_its_hash_is_stored(session: Session) -> None:
    key, token = _key(session)
    assert token.startswith(f"dr_{key.prefix}_")
    assert authenticate(session, token).id == key.id
    stored = session.execute(text("SELECT * FROM api_keys WHERE prefix = :p"), {"p": key.prefix}).one()
    assert token not in " ".join(str(v) for v in stored)
    assert token.split("_", 2)[2] not in " ".join(str(v) for v in stored)


@pytest.mark.parametrize("bad", ["", "nonsense", "dr_0123456789ab_" + "x" * 43, "Bearer dr_x"])
def test_unknown_or_malformed_tokens_are_unauthenticated(session: Session, bad: str) -> None:
    _key(session)
    with pytest.raises(Unauthenticated):
        authenticate(session, bad)


def test_a_token_with_a_real_prefix_but_a_wrong_secret_is_unauthenticated(session: Session) -> None:
    _, token = _key(session)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated):
        authenticate(session, forged)


def test_a_revoked_key_stops_working_and_leaves_the_listing(session: Session) -> None:
    key, token = _key(session)
    revoke_key(session, key.prefix)
    with pytest.raises(Unauthenticated):
        authenticate(session, token)
    assert key.prefix not in [k.prefix for k in list_keys(session)]
    assert key.prefix in [k.prefix for k in list_keys(session, include_revoked=True)]


def test_keys_act_only_for_their_controllers(session: Session) -> None:
    key, _ = _key(session, controller_ids=["nexalearn", "nestpros"])
    ensure_controller(key, "nexalearn")
    ensure_controller(key, "nestpros")
    with pytest.raises(PermissionDenied, match="not for controller 'nestit-as'"):
        ensure_controller(key, "nestit-as")
    with pytest.raises(PermissionDenied, match="every controller"):
        ensure_all_controllers(key)


def test_the_every_controller_wildcard_is_only_for_admin_keys(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="only for admin keys"):
        _key(session, controller_ids=["*"])
    admin, _ = _key(session, scopes=["admin"], controller_ids=["*"])
    ensure_controller(admin, "anything")
    ensure_all_controllers(admin)


def test_a_monitoring_key_with_the_ops_scope_alone_may_span_every_controller(session: Session) -> None:
    monitor, _ = _key(session, scopes=["ops:read"], controller_ids=["*"])
    ensure_all_controllers(monitor)
    with pytest.raises(ValidationFailed, match="only for admin keys and monitoring keys"):
        _key(session, scopes=["ops:read", "consent:read"], controller_ids=["*"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scopes": ["consent:delete"]}, "unknown consent:delete"),
        ({"scopes": []}, "at least one scope"),
        ({"controller_ids": []}, "at least one controller"),
        ({"controller_ids": ["Not An Id"]}, "is not a controller id"),
    ],
)
def test_bad_key_requests_are_refused(session: Session, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        _key(session, **overrides)


@pytest.mark.parametrize(
    ("held", "needed", "granted"),
    [
        (["consent:read"], "consent:read", True),
        (["consent:read"], "consent:write", False),
        (["consent:write"], "consent:read", True),
        (["admin"], "consent:write", True),
        (["consent:write"], "admin", False),
    ],
)
def test_scope_implications(held: list[str], needed: str, granted: bool) -> None:
    assert grants(held, needed) is granted


def test_ensure_scope_names_the_missing_scope(session: Session) -> None:
    key, _ = _key(session)
    ensure_scope(key, "consent:read")
    with pytest.raises(PermissionDenied, match="'consent:write'"):
        ensure_scope(key, "consent:write")


def test_key_changes_are_audited_without_the_token(session: Session) -> None:
    key, token = _key(session)
    revoke_key(session, key.prefix)
    rows = session.execute(
        text("SELECT action, details FROM audit_entries WHERE entity_id = :id ORDER BY id"), {"id": str(key.id)}
    ).all()
    assert [r.action for r in rows] == ["api_key.created", "api_key.revoked"]
    assert token not in str(rows)
