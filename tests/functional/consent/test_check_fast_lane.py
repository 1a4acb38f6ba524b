"""The consent check's fast lane (``consent.api._check_fast_lane``) answers the usual check without FastAPI's
per-request machinery; whatever it answers, the route as declared answers the same, and whatever it does not
recognise it hands back to the declared route, errors included."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from consent_helpers import NESTPROS, NEXALEARN, device_token, email
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import Response

from dataright.access.service import revoke_key
from dataright.consent.api import _check_fast_lane
from dataright.storage.engine import session_scope
from dataright.web.dependencies import fast_lane_route
from dataright.web.routes import flat_routes
from fixtures.web import MakeKey

CHECK = "/api/v1/consent/check"


def _record(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    response = client.post(
        f"/api/v1/consent/events?controller={NEXALEARN}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _answer(client: TestClient, query: str, headers: dict[str, str]) -> tuple[int, str, str]:
    response = client.get(f"{CHECK}?{query}", headers=headers)
    return response.status_code, response.headers["content-type"], response.text


def _whole_answer(client: TestClient, query: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], str]:
    response = client.get(f"{CHECK}?{query}", headers=headers)
    return response.status_code, sorted(response.headers.multi_items()), response.text


def _lane(app: FastAPI, client: TestClient, query: str, headers: dict[str, str]) -> Response | None:
    """What the lane alone makes of a request, on the app's event loop (where its check pool lives)."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": CHECK,
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "app": app,
    }
    assert client.portal is not None
    return client.portal.call(_check_fast_lane, Request(scope))


def test_the_check_route_sends_its_requests_through_the_fast_lane(app: FastAPI) -> None:
    [route] = [getattr(r, "original_route", r) for r in flat_routes(app.routes) if getattr(r, "path", None) == CHECK]
    assert isinstance(route, APIRoute)
    assert type(route).__qualname__ == fast_lane_route(_check_fast_lane).__qualname__


def test_the_lane_answers_a_subjects_check_with_a_cached_key_as_the_declared_route_does(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    token = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    writer = make_key(scopes=["consent:write"], controllers=[NEXALEARN])
    given = _record(client, writer, {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"})
    headers = {"Authorization": f"Bearer {token}"}
    query = f"controller={NEXALEARN}&subject_id={given['subject_id']}&purpose=analytics"

    assert _lane(app, client, query, headers) is None  # the key is not cached yet: the declared route reads it
    app.state.fast_lanes = False
    declared = _answer(client, query, headers)
    app.state.fast_lanes = True
    lane = _lane(app, client, query, headers)
    assert lane is not None
    assert (lane.status_code, lane.headers["content-type"], bytes(lane.body).decode()) == declared
    assert declared[0] == 200 and f'"event_id":{given["id"]}' in declared[2]


def test_whatever_the_lane_answers_or_declines_the_answer_is_the_declared_routes(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    reader = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    writer = make_key(scopes=["consent:write"], controllers=[NEXALEARN, NESTPROS])
    elsewhere = make_key(scopes=["consent:read"], controllers=[NESTPROS])
    unscoped = make_key(scopes=["requests:read"], controllers=[NEXALEARN])
    given = _record(client, writer, {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"})
    withdrawn = _record(client, writer, {"subject": {"email": email()}, "purpose": "analytics", "kind": "withdrawn"})
    subject, other = given["subject_id"], withdrawn["subject_id"]
    headers = [
        {"Authorization": f"Bearer {reader}"},
        {"Authorization": f"bearer {writer}"},
        {"X-API-Key": reader},
        {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": reader},
        {"Authorization": f"Bearer {reader}", "Sec-GPC": "1"},
        {"Authorization": f"Bearer {elsewhere}"},
        {"Authorization": f"Bearer {unscoped}"},
        {"Authorization": f"Bearer {reader[:-1]}x"},
        {"Authorization": "Bearer not-a-key"},
        {},
    ]
    c = f"controller={NEXALEARN}"
    queries = [
        f"{c}&subject_id={subject}&purpose=analytics",
        f"{c}&subject_id={other}&purpose=analytics",
        f"{c}&subject_id={uuid.uuid4()}&purpose=analytics",
        f"{c}&subject_id={subject}&purpose=teaching",
        f"{c}&subject_id={subject}&purpose=targeted-advertising",
        f"{c}&subject_id={subject}&cookie=performance",
        f"{c}&subject_id={subject}&topic=birthday-greetings&channel=email",
        f"{c}&subject_id={subject}&topic=birthday-greetings",
        f"{c}&subject_id={subject}&channel=email&purpose=analytics",
        f"{c}&subject_id={subject}&purpose=no-such-purpose",
        f"{c}&subject_id={subject}&purpose=analytics&cookie=performance",
        f"{c}&subject_id={subject}&purpose=",
        f"{c}&subject_id={subject}&purpose=analytics&purpose=teaching",
        f"{c}&subject_id={subject}&purpose=analytics&unknown=1",
        f"{c}&subject_id={subject.upper()}&purpose=analytics",
        f"{c}&subject_id={{{subject}}}&purpose=analytics",
        f"{c}&subject_id=not-a-uuid&purpose=analytics",
        f"{c}&subject_id={subject}&device_id={device_token()}&purpose=analytics",
        f"{c}&device_id={device_token()}&purpose=analytics",
        f"{c}&purpose=analytics",
        f"{c}&{c}&subject_id={subject}&purpose=analytics",
        f"{c}&controller={NESTPROS}&subject_id={subject}&purpose=analytics",
        f"controller={NESTPROS}&{c}&subject_id={subject}&purpose=analytics",
        f"{c}&subject_id={uuid.uuid4()}&subject_id={subject}&purpose=analytics",
        f"{c}&subject_id={subject}&purpose=teaching&purpose=analytics",
        f"controller={NESTPROS}&subject_id={subject}&purpose=analytics",
        f"controller=no-such-controller&subject_id={subject}&purpose=analytics",
        f"subject_id={subject}&purpose=analytics",
        f"controller=&subject_id={subject}&purpose=analytics",
    ]
    lane_answered = 0
    for header in headers:
        for query in queries:
            app.state.fast_lanes = False
            declared = _whole_answer(client, query, header)
            app.state.fast_lanes = True
            assert _whole_answer(client, query, header) == declared, f"{query} with {sorted(header)}"
            lane_answered += _lane(app, client, query, header) is not None
    assert lane_answered > 0  # the lane did answer some of them (and those the same as the declared route)


@pytest.mark.parametrize("fast_lanes", [True, False], ids=["lane", "declared"])
def test_a_key_revoked_in_the_server_process_is_refused_at_once_on_either_path(
    app: FastAPI, client: TestClient, make_key: MakeKey, fast_lanes: bool
) -> None:
    token = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    headers = {"Authorization": f"Bearer {token}"}
    query = f"controller={NEXALEARN}&subject_id={uuid.uuid4()}&purpose=analytics"
    app.state.fast_lanes = fast_lanes
    assert _answer(client, query, headers)[0] == 200
    assert _answer(client, query, headers)[0] == 200  # now from the key cache
    with session_scope(app.state.session_factory) as session:
        revoke_key(session, token.split("_")[1])
    assert _answer(client, query, headers)[0] == 401


def test_naming_a_second_controller_is_refused_even_when_the_key_is_cached_for_the_last_one_named(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    token = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    headers = {"Authorization": f"Bearer {token}"}
    subject = uuid.uuid4()
    assert _answer(client, f"controller={NEXALEARN}&subject_id={subject}&purpose=analytics", headers)[0] == 200
    query = f"controller={NESTPROS}&controller={NEXALEARN}&subject_id={subject}&purpose=analytics"
    assert _lane(app, client, query, headers) is None
    assert _answer(client, query, headers)[0] == 403
