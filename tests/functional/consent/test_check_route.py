"""``GET /api/v1/consent/check``: a subject's check is answered by the app's checker without a database
session; a device and SMS / voice marketing take the service's path. Both paths answer as ``service.check``
does, and neither writes: a GPC signal changes the answer, and only the banner or a write-scoped call records
it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from consent_helpers import NESTPROS, NEXALEARN, device_token, email
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from dataright.audit.models import AuditEntry
from dataright.config import Settings
from dataright.consent import service
from dataright.consent.models import ConsentEvent, ConsentState
from dataright.consent.targets import Target
from dataright.declarations.registry import DeclarationRegistry
from dataright.identity.models import Device
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.app import create_app
from fixtures.web import MakeKey


@pytest.fixture
def writer(make_key: MakeKey) -> dict[str, str]:
    token = make_key(scopes=["consent:write"], controllers=[NEXALEARN, NESTPROS])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reader(make_key: MakeKey) -> dict[str, str]:
    token = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def transactions_begun(app: FastAPI) -> Iterator[list[object]]:
    """Every transaction a session of the app begins, as it begins."""
    begun: list[object] = []

    def count(session: object, transaction: object, connection: object) -> None:
        begun.append(transaction)

    factory = app.state.session_factory
    event.listen(factory, "after_begin", count)
    yield begun
    event.remove(factory, "after_begin", count)


def _record(client: TestClient, headers: dict[str, str], body: dict[str, Any], controller: str = NEXALEARN) -> Any:
    response = client.post(f"/api/v1/consent/events?controller={controller}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _check(client: TestClient, headers: dict[str, str], query: str, controller: str = NEXALEARN) -> Any:
    response = client.get(f"/api/v1/consent/check?controller={controller}&{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_subjects_check_opens_no_database_session(
    client: TestClient, writer: dict[str, str], transactions_begun: list[object]
) -> None:
    given = _record(client, writer, {"subject": {"email": email()}, "purpose": "analytics", "kind": "given"})
    transactions_begun.clear()
    assert _check(client, writer, f"subject_id={given['subject_id']}&purpose=analytics")["event_id"] == given["id"]
    assert _check(client, writer, f"subject_id={uuid.uuid4()}&purpose=analytics")["reason"] == "no_consent"
    assert transactions_begun == []
    _check(client, writer, f"device_id={device_token()}&purpose=analytics")  # a device is looked up in a session
    assert transactions_begun != []


def test_the_route_answers_as_the_service_for_every_kind_of_subject_and_target(
    app: FastAPI, client: TestClient, writer: dict[str, str], registry: DeclarationRegistry
) -> None:
    subjects = {}
    for kind in ("given", "withdrawn", "refused", "objected"):
        purpose = "analytics" if kind != "objected" else "personalisation"
        subjects[kind] = _record(client, writer, {"subject": {"email": email()}, "purpose": purpose, "kind": kind})
    nobody = str(uuid.uuid4())
    queries = [
        (subject, target)
        for subject in [*(s["subject_id"] for s in subjects.values()), nobody]
        for target in (
            Target.purpose("analytics"),
            Target.purpose("personalisation"),
            Target.purpose("teaching"),
            Target.topic("birthday-greetings", "email"),
        )
    ]
    declaration = registry.controller(NEXALEARN).declaration
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        expected = [
            service.check(session, declaration=declaration, controller_id=NEXALEARN, target=t, subject_id=uuid.UUID(s))
            for s, t in queries
        ]
    answers = [_check(client, writer, f"subject_id={s}&{t.kind}={t.key}" + _channel(t)) for s, t in queries]
    assert [(a["allowed"], a["basis"], a["reason"], a["event_id"]) for a in answers] == [
        (d.allowed, d.basis, d.reason.value, d.event_id) for d in expected
    ]
    assert {a["reason"] for a in answers} >= {"consent_given", "consent_withdrawn", "no_consent", "basis_applies"}


def _channel(target: Target) -> str:
    return f"&channel={target.channel}" if target.channel else ""


def test_sms_marketing_to_a_registered_singapore_number_is_refused_over_http(
    client: TestClient,
    writer: dict[str, str],
    settings: Settings,
    registry: DeclarationRegistry,
    tmp_path: Path,
) -> None:
    subject = {"email": email(), "phone": "+65 9123 4567"}
    body = {"subject": subject, "topic": "promotions", "channel": "sms", "kind": "given", "method": "staff_phone"}
    given = _record(client, writer, body, controller=NESTPROS)
    query = f"subject_id={given['subject_id']}&topic=promotions&channel=sms"
    assert _check(client, writer, query, controller=NESTPROS)["reason"] == "dnc_unchecked"  # no registry given

    extract = tmp_path / "dnc.csv"
    extract.write_text("number,register\n+65 9123 4567,sms\n", encoding="utf-8")
    with TestClient(create_app(settings.model_copy(update={"dnc_registry_file": extract}), registry)) as with_dnc:
        answer = _check(with_dnc, writer, query, controller=NESTPROS)
    assert (answer["allowed"], answer["reason"]) == (False, "dnc_registered")


SOMEONE = "5f0c4b8e-2d1a-4c3b-9e7f-0a1b2c3d4e5f"  # nobody's id; constant, so test ids are the same in every worker


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        (f"subject_id={SOMEONE}&purpose={'x' * 81}", "purpose"),
        ("subject_id=not-a-uuid&purpose=analytics", "subject_id"),
        (f"device_id={'d' * 129}&purpose=analytics", "device_id"),
        (f"subject_id={SOMEONE}&cookie=no-such-category", "cookie"),
    ],
    ids=["long-purpose", "bad-subject-id", "long-device-id", "unknown-cookie"],  # fixed ids: pytest -n needs them
)
def test_a_bad_query_is_a_422_problem_naming_the_parameter(
    client: TestClient, writer: dict[str, str], query: str, parameter: str
) -> None:
    response = client.get(f"/api/v1/consent/check?controller={NEXALEARN}&{query}", headers=writer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["in"], e["parameter"]) for e in response.json()["errors"]] == [("query", parameter)]


def test_a_check_names_exactly_one_target_and_one_holder(client: TestClient, writer: dict[str, str]) -> None:
    url = f"/api/v1/consent/check?controller={NEXALEARN}"
    for query in (
        f"subject_id={uuid.uuid4()}",
        f"subject_id={uuid.uuid4()}&purpose=analytics&cookie=targeting",
        "purpose=analytics",
        f"subject_id={uuid.uuid4()}&device_id={device_token()}&purpose=analytics",
    ):
        response = client.get(f"{url}&{query}", headers=writer)
        assert response.status_code == 422, f"{query}: {response.text}"
        assert "exactly one" in response.json()["detail"], f"{query}: {response.text}"


def _what_is_recorded(engine: Engine) -> dict[str, Any]:
    """Every consent event, consent state, audit entry and device in the database, as counts and rows."""
    with engine.connect() as connection:
        state = ConsentState.__table__.c
        return {
            "events": connection.execute(select(func.count(), func.max(ConsentEvent.id))).one(),
            "audit": connection.execute(select(func.count(), func.max(AuditEntry.id))).one(),
            "devices": connection.execute(select(func.count()).select_from(Device)).scalar_one(),
            "state": sorted(
                tuple(row)
                for row in connection.execute(select(state.controller_id, state.holder, state.target, state.event_id))
            ),
        }


def test_a_check_with_gpc_honours_the_signal_in_its_answer_and_records_nothing(
    app: FastAPI, client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    subject = _record(
        client, writer, {"subject": {"email": email()}, "purpose": "targeted-advertising", "kind": "given"}
    )
    device = device_token()
    banner = client.post(
        "/api/v1/cookie-consent", json={"controller": NEXALEARN, "device_id": device, "accepted": ["targeting"]}
    )
    assert banner.status_code == 201, banner.text
    before = _what_is_recorded(app.state.engine)
    gpc = {**reader, "Sec-GPC": "1"}
    for query in (
        f"subject_id={subject['subject_id']}&purpose=targeted-advertising",  # the checker's path
        f"subject_id={subject['subject_id']}&cookie=targeting",
        f"device_id={device}&cookie=targeting",  # a session's path
        f"device_id={device_token()}&cookie=targeting",  # a device never seen: not created
        f"subject_id={uuid.uuid4()}&purpose=targeted-advertising",  # a subject never seen
    ):
        answer = _check(client, gpc, query)
        assert (answer["allowed"], answer["reason"], answer["event_id"]) == (False, "gpc_opt_out", None), query
    batch = client.post(
        f"/api/v1/consent/check/batch?controller={NEXALEARN}",
        json={"items": [{"subject_id": subject["subject_id"], "purpose": "targeted-advertising"}]},
        headers=gpc,
    )
    assert batch.status_code == 200, batch.text
    assert [r["reason"] for r in batch.json()["results"]] == ["gpc_opt_out"]
    assert _what_is_recorded(app.state.engine) == before
    without = _check(client, reader, f"subject_id={subject['subject_id']}&purpose=targeted-advertising")
    assert (without["allowed"], without["event_id"]) == (True, subject["id"])


def test_a_gpc_opt_out_is_recorded_through_the_banner_or_a_write_scoped_call(
    app: FastAPI, client: TestClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    device = device_token()
    banner = client.post(
        "/api/v1/cookie-consent",
        json={"controller": NEXALEARN, "device_id": device, "accepted": ["targeting"]},
        headers={"Sec-GPC": "1"},
    )
    assert banner.status_code == 201, banner.text
    opted_out = {e["target"]: e["id"] for e in banner.json()["events"] if e["kind"] == "gpc_opt_out"}
    answer = _check(client, reader, f"device_id={device}&cookie=targeting")  # no signal on this request
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (
        False,
        "gpc_opt_out",
        opted_out["cookie:targeting"],
    )

    subject = {"email": email()}
    given = _record(client, writer, {"subject": subject, "purpose": "analytics", "kind": "given"})
    recorded = client.post(
        f"/api/v1/consent/events?controller={NEXALEARN}",
        json={"subject": subject, "purpose": "targeted-advertising", "kind": "given"},
        headers={**writer, "Sec-GPC": "1"},
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["kind"] == "gpc_opt_out"
    answer = _check(client, reader, f"subject_id={given['subject_id']}&purpose=targeted-advertising")
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (False, "gpc_opt_out", recorded.json()["id"])
