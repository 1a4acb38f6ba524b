"""Every route of the app: public ones are an explicit allow-list; every other one answers 401 without a
valid key, 403 to a key of controller A asking about controller B (or lacking the scope), and lets the
right key through. Routes are enumerated from the app itself, so a route added later is covered at once.

The controller convention (``web.dependencies``): the controller is the ``{controller_id}`` path parameter,
or the ``controller`` query parameter of routes guarded with ``require_scope(..., controller_query=True)``;
a guarded route naming neither spans every controller and needs a ``*`` key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from httpx import Response

from dataright.access.scopes import KNOWN_SCOPES, grants
from dataright.access.service import revoke_key
from dataright.declarations.registry import DeclarationRegistry
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.app import PUBLIC_ROUTES, unguarded_routes
from dataright.web.dependencies import CONTROLLER_QUERY_MARK, SCOPE_MARK
from dataright.web.routes import iter_routes
from fixtures.web import MakeKey

# The explicit allow-list, kept here as well as in the app: making a route public takes two edits.
EXPECTED_PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("POST", "/api/v1/cookie-consent"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
    ("GET", "/banner/{controller}.js"),
    ("GET", "/banner/{controller}.css"),
    ("GET", "/demo/{controller}/"),
    ("POST", "/api/v1/requests"),
    ("POST", "/api/v1/requests/{reference}/verify"),
    ("POST", "/api/v1/requests/{reference}/resend"),
    ("GET", "/api/v1/requests/{reference}/package"),
    ("GET", "/v/{token}"),
    ("POST", "/v/{token}"),
}
BAD_TOKEN = "dr_000000000000_" + "A" * 43
PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class Guarded:
    method: str
    path: str
    scope: str
    controller_query: bool

    @property
    def per_controller(self) -> bool:
        return self.controller_query or "{controller_id}" in self.path

    def url(self, controller: str) -> str:
        path = PATH_PARAM.sub(lambda m: controller if m.group(1) == "controller_id" else "1", self.path)
        return f"{path}?controller={controller}" if self.controller_query else path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _guard(dependant: Dependant) -> tuple[str, bool] | None:
    call = dependant.call
    if call is not None and hasattr(call, SCOPE_MARK):
        return str(getattr(call, SCOPE_MARK)), bool(getattr(call, CONTROLLER_QUERY_MARK, False))
    for sub in dependant.dependencies:
        found = _guard(sub)
        if found is not None:
            return found
    return None


def guarded_routes(app: FastAPI) -> list[Guarded]:
    routes: list[Guarded] = []
    for route in iter_routes(app):
        if (route.method, route.path) in PUBLIC_ROUTES:
            continue
        assert route.dependant is not None, f"{route.method} {route.path} is not an API route"
        guard = _guard(route.dependant)
        assert guard is not None, f"{route.method} {route.path} has no require_scope"
        routes.append(Guarded(route.method, route.path, *guard))
    return routes


def call(client: TestClient, route: Guarded, url: str, token: str | None = None, header: str = "bearer") -> Response:
    headers = {}
    if token is not None:
        headers = {"Authorization": f"Bearer {token}"} if header == "bearer" else {"X-API-Key": token}
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    return client.request(route.method, url, headers=headers, json=body)


@pytest.fixture
def controllers(registry: DeclarationRegistry) -> tuple[str, str]:
    ids = registry.controller_ids
    assert len(ids) >= 2, "the route test needs two controllers among the examples"
    return ids[0], ids[-1]


def test_the_public_routes_are_exactly_the_allow_list(app: FastAPI) -> None:
    assert set(PUBLIC_ROUTES) == EXPECTED_PUBLIC
    present = {(r.method, r.path) for r in iter_routes(app)}
    assert present >= EXPECTED_PUBLIC, f"allow-listed but missing: {EXPECTED_PUBLIC - present}"


def test_every_other_route_is_guarded_and_there_are_some(app: FastAPI) -> None:
    assert unguarded_routes(app) == []
    assert len(guarded_routes(app)) >= 2


def test_every_operation_in_the_openapi_document_is_enumerated(app: FastAPI) -> None:
    enumerated = {(r.method, r.path) for r in iter_routes(app)}
    documented = {
        (method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations
    }
    assert documented <= enumerated


def test_every_guarded_route_answers_401_without_a_key_or_with_a_bad_one(app: FastAPI, client: TestClient) -> None:
    failures = []
    for route in guarded_routes(app):
        for token in (None, BAD_TOKEN, "not-even-a-key"):
            response = call(client, route, route.url("nexalearn"), token)
            if response.status_code != 401 or response.headers["content-type"] != "application/problem+json":
                failures.append(f"{route} with {token!r}: {response.status_code} {response.text[:200]}")
            elif "bearer" not in response.headers.get("www-authenticate", "").lower():
                failures.append(f"{route}: 401 without WWW-Authenticate")
    assert failures == []


def test_a_key_of_controller_a_gets_403_on_controller_b_and_the_right_key_gets_through(
    app: FastAPI, client: TestClient, make_key: MakeKey, controllers: tuple[str, str]
) -> None:
    a, b = controllers
    key_a = make_key(scopes=KNOWN_SCOPES, controllers=[a])
    key_b = make_key(scopes=KNOWN_SCOPES, controllers=[b])
    key_all = make_key(scopes=KNOWN_SCOPES, controllers=["*"])
    failures = []
    for route in guarded_routes(app):
        if route.per_controller:
            denied = call(client, route, route.url(b), key_a)
            allowed = call(client, route, route.url(b), key_b)
        else:  # spans every controller: a key for one controller is refused, even naming it in the query
            denied = call(client, route, f"{route.url(a)}?controller={a}", key_a)
            allowed = call(client, route, route.url(a), key_all)
        if denied.status_code != 403 or denied.headers["content-type"] != "application/problem+json":
            failures.append(f"{route}: key of {a} on {b}: {denied.status_code} {denied.text[:200]}")
        if allowed.status_code in (401, 403):
            failures.append(f"{route}: the right key was refused: {allowed.status_code} {allowed.text[:200]}")
    assert failures == []


def test_a_key_without_the_routes_scope_gets_403(
    app: FastAPI, client: TestClient, make_key: MakeKey, controllers: tuple[str, str]
) -> None:
    _, b = controllers
    failures = []
    for route in guarded_routes(app):
        lacking = [s for s in KNOWN_SCOPES if not grants([s], route.scope)]
        if not lacking:
            continue
        key = make_key(scopes=lacking[:1], controllers=[b])
        response = call(client, route, route.url(b), key)
        if response.status_code != 403 or "scope" not in response.json().get("detail", ""):
            failures.append(f"{route} with only {lacking[:1]}: {response.status_code} {response.text[:200]}")
    assert failures == []


def test_the_key_may_also_come_in_x_api_key(app: FastAPI, client: TestClient, make_key: MakeKey) -> None:
    key_all = make_key(scopes=KNOWN_SCOPES, controllers=["*"])
    for route in guarded_routes(app):
        response = call(client, route, route.url("nexalearn"), key_all, header="x-api-key")
        assert response.status_code not in (401, 403), f"{route}: {response.status_code}"


def test_a_revoked_key_gets_401(app: FastAPI, client: TestClient, make_key: MakeKey) -> None:
    token = make_key(scopes=KNOWN_SCOPES, controllers=["*"])
    with session_scope(make_session_factory(app.state.engine)) as session:
        revoke_key(session, token.split("_")[1])
    route = guarded_routes(app)[0]
    assert call(client, route, route.url("nexalearn"), token).status_code == 401
