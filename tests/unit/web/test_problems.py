"""Errors leave the API as RFC 9457 problem+json."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from dataright.errors import (
    ConfigurationError,
    Conflict,
    DeclarationInvalid,
    Located,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationFailed,
)
from dataright.web.problems import PROBLEM_JSON, install_problem_handlers


class Item(BaseModel):
    purpose: str
    count: int


class Batch(BaseModel):
    items: list[Item]


def _app() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    errors = {
        "not-found": NotFound("subject 42 does not exist"),
        "conflict": Conflict("already withdrawn"),
        "unauthenticated": Unauthenticated("invalid or revoked API key"),
        "forbidden": PermissionDenied("not for controller 'b'"),
        "invalid": ValidationFailed("email: not a valid e-mail address"),
        "config": ConfigurationError("no secret key: set DATARIGHT_SECRET_KEY"),
        "declaration": DeclarationInvalid([Located("purposes.yaml", 12, "purposes[3].legal_basis", "unknown basis")]),
    }

    @app.get("/raise/{name}")
    def raise_(name: str) -> None:
        raise errors[name]

    @app.get("/http")
    def http() -> None:
        raise HTTPException(status_code=409, detail="busy")

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internals")

    @app.post("/batch")
    def batch(body: Batch, limit: int = 10) -> None:
        return None

    @app.get("/connection-lost")
    def connection_lost() -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True)

    return TestClient(app, raise_server_exceptions=False)


def test_dataright_errors_carry_type_title_status_detail_and_instance() -> None:
    response = _app().get("/raise/not-found")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "urn:dataright:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "subject 42 does not exist",
        "instance": "/raise/not-found",
    }


def test_each_error_class_maps_to_its_status_and_type() -> None:
    client = _app()
    for name, status, kind in [
        ("conflict", 409, "conflict"),
        ("unauthenticated", 401, "unauthenticated"),
        ("forbidden", 403, "permission-denied"),
        ("invalid", 422, "validation-failed"),
    ]:
        body = client.get(f"/raise/{name}").json()
        assert (body["status"], body["type"]) == (status, f"urn:dataright:problem:{kind}")


def test_401_tells_the_client_how_to_authenticate() -> None:
    assert _app().get("/raise/unauthenticated").headers["www-authenticate"].startswith("Bearer")


def test_declaration_errors_list_file_line_and_path() -> None:
    body = _app().get("/raise/declaration").json()
    assert body["errors"] == [
        {"detail": "unknown basis", "file": "purposes.yaml", "line": 12, "path": "purposes[3].legal_basis"}
    ]


def test_server_side_errors_say_nothing_about_their_cause() -> None:
    client = _app()
    config = client.get("/raise/config")
    assert config.status_code == 500 and "detail" not in config.json()
    crash = client.get("/crash")
    assert crash.status_code == 500
    assert crash.headers["content-type"] == PROBLEM_JSON
    assert "secret internals" not in crash.text


def test_validation_errors_point_into_the_body_and_name_parameters() -> None:
    response = _app().post("/batch?limit=many", json={"items": [{"purpose": "newsletter", "count": "x"}, {}]})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:dataright:problem:validation-failed"
    pointers = {e.get("pointer") for e in body["errors"]}
    assert {"#/items/0/count", "#/items/1/purpose", "#/items/1/count"} <= pointers
    assert {"parameter": "limit", "in": "query"}.items() <= next(e for e in body["errors"] if "parameter" in e).items()


def test_plain_http_errors_and_unknown_paths_are_problems_too() -> None:
    client = _app()
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM_JSON
    assert missing.json()["type"] == "about:blank" and missing.json()["title"] == "Not Found"
    busy = client.get("/http").json()
    assert busy == {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "busy", "instance": "/http"}


def test_a_database_connection_lost_under_a_request_is_a_503_to_retry() -> None:
    response = _app().get("/connection-lost")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "SELECT" not in response.text
