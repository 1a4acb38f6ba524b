"""The application: start-up rules, health, OpenAPI, and the admin audit routes, on a real database."""

from __future__ import annotations

from functools import partial

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from dataright.audit.service import append, seal_pending
from dataright.config import Settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import ConfigurationError
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.app import create_app
from fixtures.web import MakeKey


def test_the_server_refuses_to_start_without_a_secret_key_outside_demo_mode() -> None:
    with pytest.raises(ConfigurationError, match="DATARIGHT_SECRET_KEY"):
        create_app(Settings(database_url="sqlite:///unused.db"), DeclarationRegistry())


def test_demo_mode_runs_with_an_ephemeral_secret_key() -> None:
    app = create_app(Settings(demo=True, database_url="sqlite:///unused.db"), DeclarationRegistry())
    secret = app.state.settings.secret_key
    assert secret is not None and len(secret.get_secret_value()) >= 32


def test_health_reports_the_database_and_the_loaded_controllers(
    client: TestClient, registry: DeclarationRegistry
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "controllers": registry.controller_ids}


def test_openapi_documents_the_api_key_schemes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert {"HTTPBearer", "APIKeyHeader"} <= set(document["components"]["securitySchemes"])
    assert client.get("/docs").status_code == 200


def test_audit_verify_reports_an_intact_chain_then_the_tampered_entry(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    token = make_key(scopes=["admin"], controllers=["*"])
    headers = {"Authorization": f"Bearer {token}"}
    factory = make_session_factory(app.state.engine)
    seal_pending(partial(session_scope, factory))
    report = client.get("/api/v1/audit/verify", headers=headers).json()
    assert report["ok"] is True and report["checked"] >= 1 and report["first_bad_seq"] is None
    with session_scope(factory) as s:
        victim = append(s, actor="system", action="test.victim", entity_type="test", entity_id="v").id
        append(s, actor="system", action="test.after", entity_type="test", entity_id="w")
    seal_pending(partial(session_scope, factory))
    with session_scope(factory) as s:
        victim_seq = s.execute(text("SELECT seq FROM audit_entries WHERE id = :id"), {"id": victim}).scalar_one()
        s.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE id = :id"), {"id": victim})
    try:
        broken = client.get("/api/v1/audit/verify", headers=headers).json()
        assert broken["ok"] is False and broken["first_bad_seq"] == victim_seq
    finally:
        with session_scope(factory) as s:  # repair, for the tests that share this database
            s.execute(text("UPDATE audit_entries SET actor = 'system' WHERE id = :id"), {"id": victim})


def test_a_controllers_audit_entries_are_listed_by_page_and_only_its_own(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    factory = make_session_factory(app.state.engine)
    with session_scope(factory) as s:
        ids = [
            append(
                s, actor="system", action="test.listed", entity_type="t", entity_id=str(i), controller_id="nexalearn"
            ).id
            for i in range(3)
        ]
        append(s, actor="system", action="test.other", entity_type="t", entity_id="x", controller_id="nestpros")
    token = make_key(scopes=["admin"], controllers=["nexalearn"])
    headers = {"X-API-Key": token}
    page = client.get(f"/api/v1/controllers/nexalearn/audit?after_id={ids[0] - 1}&limit=2", headers=headers).json()
    assert [e["id"] for e in page["entries"]] == ids[:2]
    assert page["next_after_id"] == ids[1]
    rest = client.get(f"/api/v1/controllers/nexalearn/audit?after_id={ids[1]}", headers=headers).json()
    assert [e["id"] for e in rest["entries"]] == [ids[2]]
    assert all(e["controller_id"] == "nexalearn" for e in rest["entries"])
