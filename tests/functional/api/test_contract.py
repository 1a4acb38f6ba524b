"""The contract around the routes: statuses and problem bodies in the OpenAPI document, ``Allow`` on 405,
malformed JSON named by line and column, the documentation pages served without the internet, and SQL
parameter values kept out of error messages."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dataright.storage.engine import make_engine
from dataright.web.app import PUBLIC_ROUTES
from dataright.web.openapi import STATUSES_BY_KIND
from dataright.web.problems import PROBLEM_JSON, line_and_column
from fixtures.web import MakeKey

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _operations(app: FastAPI) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    return [(m.upper(), p, op) for p, item in app.openapi()["paths"].items() for m, op in item.items()]


def test_every_error_status_is_declared_as_the_problem_json_the_server_sends(app: FastAPI) -> None:
    for method, path, operation in _operations(app):
        responses = operation["responses"]
        errors = {int(s) for s in responses if int(s) >= 400}
        assert 422 in errors or not (operation.get("parameters") or "requestBody" in operation), (method, path)
        if (method, path) not in PUBLIC_ROUTES:
            assert {401, 403} <= errors, (method, path)
        if any(p["name"] in ("controller", "controller_id") for p in operation.get("parameters", [])):
            assert 404 in errors, (method, path)
        for status in errors:
            content = responses[str(status)].get("content", {})
            if path.startswith(("/u/", "/v/")):
                continue  # the unsubscribe and request-confirmation pages answer in HTML
            assert content == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (method, path, status)
    schemas = app.openapi()["components"]["schemas"]
    assert {"type", "title", "status", "instance"} <= set(schemas["Problem"]["properties"])
    assert "HTTPValidationError" not in schemas


def test_route_specific_statuses_are_declared(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert {"404", "429"} <= set(paths["/api/v1/cookie-consent"]["post"]["responses"])
    assert "503" in paths["/healthz"]["get"]["responses"]
    assert "400" in paths["/api/v1/consent/events"]["post"]["responses"]  # a body that is not JSON


def test_every_write_taking_an_idempotency_key_declares_its_409_and_422(app: FastAPI) -> None:
    writes = 0
    for method, path, operation in _operations(app):
        if method in ("GET", "HEAD", "OPTIONS") or not path.startswith("/api/v1"):
            continue
        writes += 1
        names = [(p["name"], p["in"]) for p in operation.get("parameters", [])]
        assert ("Idempotency-Key", "header") in names, (method, path)
        responses = operation["responses"]
        assert "Idempotency-Key` is still being answered" in responses["409"]["description"], (method, path)
        assert "Idempotency-Key` was already used for another request" in responses["422"]["description"], (
            method,
            path,
        )
        for status in ("409", "422"):
            assert responses[status]["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (method, path)
    assert writes >= 10


def test_an_idempotency_conflict_is_answered_with_the_declared_status(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    headers = {
        "Authorization": f"Bearer {make_key(scopes=['consent:write'], controllers=['nexalearn'])}",
        "Idempotency-Key": "k-17",
    }
    body = {"subject": {"customer_id": "c-17"}, "purpose": "analytics", "kind": "given"}
    first = client.post("/api/v1/consent/events?controller=nexalearn", json=body, headers=headers)
    other = client.post(
        "/api/v1/consent/events?controller=nexalearn", json={**body, "kind": "withdrawn"}, headers=headers
    )
    assert first.status_code == 201, first.text
    assert other.status_code == 422
    declared = app.openapi()["paths"]["/api/v1/consent/events"]["post"]["responses"]
    assert str(other.status_code) in declared


def test_the_status_table_is_the_one_place_kinds_of_statuses_are_added() -> None:
    kinds = {kind for kind, _applies, _statuses in STATUSES_BY_KIND}
    assert {"with input", "with a body", "behind an API key", "acting for a controller", "writes"} == kinds


def test_exactly_one_target_and_formats_are_in_the_schema(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for name in ("EventIn", "CheckItem"):
        one_ofs = [part["oneOf"] for part in schemas[name]["allOf"]]
        assert [branch["required"] for branch in one_ofs[0]] == [["purpose"], ["cookie"], ["topic", "channel"]]
    assert [branch["required"] for branch in schemas["EventIn"]["allOf"][1]["oneOf"]] == [["subject"], ["device_id"]]
    device = schemas["LinkDeviceIn"]["properties"]["device_id"]
    assert device["pattern"] == "^[A-Za-z0-9_-]{8,128}$"
    purpose = schemas["EventIn"]["properties"]["purpose"]["anyOf"][0]
    assert purpose["pattern"].startswith("^[a-z0-9]")
    assert "\\u0000" in schemas["EventIn"]["properties"]["source"]["anyOf"][0]["pattern"]


def test_links_lead_from_a_recorded_event_to_the_routes_that_read_it(app: FastAPI) -> None:
    links = app.openapi()["paths"]["/api/v1/consent/events"]["post"]["responses"]["201"]["links"]
    operation_ids = {op.get("operationId") for _m, _p, op in _operations(app)}
    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert links["Event"]["parameters"]["event_id"] == "$response.body#/id"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/u/some-token", "GET, POST"),
        ("DELETE", "/api/v1/consent/subjects/00000000-0000-0000-0000-000000000000/preferences", "GET, PUT"),
        ("POST", "/healthz", "GET"),
    ],
)
def test_405_lists_every_method_of_the_path(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == PROBLEM_JSON


def test_malformed_json_is_a_400_naming_line_and_column(client: TestClient, make_key: MakeKey) -> None:
    headers = {"Authorization": f"Bearer {make_key()}", "Content-Type": "application/json"}
    body = '{\n  "purpose": "analytics",\n  kind: "given"\n}'
    response = client.post("/api/v1/consent/events?controller=nexalearn", content=body, headers=headers)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == PROBLEM_JSON
    assert problem["errors"] == [{"detail": problem["errors"][0]["detail"], "line": 3, "column": 3}]
    assert "line 3, column 3" in problem["detail"]
    assert "pointer" not in problem["errors"][0]


def test_line_and_column_count_from_one() -> None:
    assert line_and_column("abc", 0) == (1, 1)
    assert line_and_column("ab\ncd\nef", 7) == (3, 2)
    assert line_and_column(b"\xc3\xa9\nx", 2) == (2, 1)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_pages_load_their_scripts_from_the_server_itself(client: TestClient, page: str) -> None:
    html = client.get(page).text
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    scripts = [part.split('"')[0] for part in html.split('src="')[1:]]
    assert scripts and all(s.startswith("/docs/assets/") for s in scripts)
    for script in scripts:
        asset = client.get(script)
        assert asset.status_code == 200 and len(asset.content) > 100_000


def test_sql_parameter_values_never_reach_an_error_message(
    engine: Engine, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "kari.nordmann@example.no"
    hidden = make_engine(db_url)
    try:
        with hidden.connect() as connection, pytest.raises(SQLAlchemyError) as raised:
            connection.execute(text("SELECT no_such_column FROM no_such_table WHERE x = :value"), {"value": secret})
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("dataright.web").exception("boom", exc_info=raised.value)
    finally:
        hidden.dispose()
    assert secret not in str(raised.value)
    assert secret not in caplog.text
