"""Hostile input is refused at the edge with a 422 naming the field, and never reaches the database or a 500:
control, bidirectional and zero-width characters, ids past 64 bits, dates out of range, personal data in the
notes stored in clear. Identifiers are the exception for invisible characters: they are removed before
hashing, so the same person is found."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from consent_helpers import NEXALEARN, device_token, email
from fastapi.testclient import TestClient

from fixtures.web import MakeKey

EVENTS = f"/api/v1/consent/events?controller={NEXALEARN}"
BATCH = f"/api/v1/consent/check/batch?controller={NEXALEARN}"
HOSTILE = {
    "NUL": "\x00",
    "bell": "\x07",
    "escape": "\x1b",
    "C1 control": "\x85",
    "right-to-left override": "\u202e",
    "right-to-left isolate": "\u2067",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
}


@pytest.fixture
def writer(make_key: MakeKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(scopes=['consent:write'], controllers=[NEXALEARN])}"}


def _event(**extra: Any) -> dict[str, Any]:
    return {"subject": {"email": email()}, "purpose": "analytics", "kind": "given", **extra}


def _post_raw(client: TestClient, url: str, text: str, headers: dict[str, str]) -> Any:
    return client.post(
        url, content=text.encode("utf-8", "surrogatepass"), headers={**headers, "Content-Type": "application/json"}
    )


def _pointers(response: Any) -> list[str]:
    return [e.get("pointer") for e in response.json().get("errors", [])]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("#/source", lambda bad: _event(source=f"web{bad}form")),
        ("#/notice_version", lambda bad: _event(notice_version=f"v1{bad}")),
        ("#/import_key", lambda bad: _event(import_key=f"row{bad}1")),
        ("#/proof/text", lambda bad: _event(proof={"text": f"I agree{bad} to analytics"})),
    ],
    ids=["source", "notice_version", "import_key", "proof.text"],
)
def test_control_bidi_and_zero_width_characters_are_refused_naming_the_field(
    client: TestClient, writer: dict[str, str], name: str, field: str, body: Any
) -> None:
    response = client.post(EVENTS, json=body(HOSTILE[name]), headers=writer)
    assert response.status_code == 422, response.text
    assert _pointers(response) == [field]
    assert f"U+{ord(HOSTILE[name]):04X}" in response.json()["errors"][0]["detail"]


def test_multi_line_consent_text_keeps_its_line_breaks(client: TestClient, writer: dict[str, str]) -> None:
    text = "Yes, I agree.\r\n\tWrite to post@nexalearn.no to withdraw."  # the controller's own address is fine
    response = client.post(EVENTS, json=_event(proof={"text": text}), headers=writer)
    assert response.status_code == 201, response.text


def test_a_lone_surrogate_is_refused_not_a_500(client: TestClient, writer: dict[str, str]) -> None:
    raw = json.dumps(_event(source="x")).replace('"source": "x"', '"source": "a\\ud800b"')
    response = _post_raw(client, EVENTS, raw, writer)
    assert response.status_code == 422, response.text
    assert _pointers(response) == ["#/source"]


@pytest.mark.parametrize("name", ["zero-width space", "right-to-left override", "byte order mark"])
def test_invisible_characters_in_identifiers_are_removed_before_hashing(
    client: TestClient, writer: dict[str, str], name: str
) -> None:
    address = email()
    recorded = client.post(EVENTS, json=_event(subject={"email": address}), headers=writer)
    assert recorded.status_code == 201, recorded.text
    local, domain = address.split("@")
    disguised = f"{local[:3]}{HOSTILE[name]}{local[3:]}@{domain}"
    batch = client.post(BATCH, json={"items": [{"email": disguised, "purpose": "analytics"}]}, headers=writer)
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["event_id"] == recorded.json()["id"]


@pytest.mark.parametrize("field", ["email", "phone", "customer_id"])
def test_control_characters_in_identifiers_are_refused_naming_the_field(
    client: TestClient, writer: dict[str, str], field: str
) -> None:
    response = client.post(EVENTS, json=_event(subject={field: "abc\x00def"}), headers=writer)
    assert response.status_code == 422, response.text
    assert _pointers(response) == [f"#/subject/{field}"]


@pytest.mark.parametrize("event_id", [2**63, 2**64, 10**30, 0, -1])
def test_ids_outside_64_bits_are_a_422_never_a_500(client: TestClient, writer: dict[str, str], event_id: int) -> None:
    response = client.get(f"/api/v1/consent/events/{event_id}?controller={NEXALEARN}", headers=writer)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0] == {
        "detail": response.json()["errors"][0]["detail"],
        "parameter": "event_id",
        "in": "path",
    }


def test_the_largest_id_is_simply_not_found(client: TestClient, writer: dict[str, str]) -> None:
    response = client.get(f"/api/v1/consent/events/{2**63 - 1}?controller={NEXALEARN}", headers=writer)
    assert response.status_code == 404, response.text


def test_a_page_after_an_id_past_64_bits_is_a_422(client: TestClient, make_key: MakeKey) -> None:
    admin = {"Authorization": f"Bearer {make_key()}"}
    response = client.get(f"/api/v1/controllers/{NEXALEARN}/audit?after_id={2**63}", headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["parameter"] == "after_id"


@pytest.mark.parametrize(
    "occurred_at",
    ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", (datetime.now(UTC) + timedelta(days=2)).isoformat()],
    ids=["before-1970", "year-1", "two-days-ahead"],
)
def test_occurred_at_before_1970_or_over_a_day_ahead_is_refused(
    client: TestClient, writer: dict[str, str], occurred_at: str
) -> None:
    response = client.post(EVENTS, json=_event(occurred_at=occurred_at), headers=writer)
    assert response.status_code == 422, response.text
    assert _pointers(response) == ["#/occurred_at"]


def test_occurred_at_within_the_window_is_recorded(client: TestClient, writer: dict[str, str]) -> None:
    for when in ("1970-01-01T00:00:00Z", (datetime.now(UTC) - timedelta(days=400)).isoformat()):
        response = client.post(EVENTS, json=_event(occurred_at=when), headers=writer)
        assert response.status_code == 201, response.text


def test_a_birth_date_in_the_future_is_refused(client: TestClient, writer: dict[str, str]) -> None:
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    response = client.post(EVENTS, json=_event(subject={"email": email(), "birth_date": tomorrow}), headers=writer)
    assert response.status_code == 422, response.text
    assert _pointers(response) == ["#/subject/birth_date"]


@pytest.mark.parametrize(
    "source",
    ["kari.nordmann@example.no", "call +47 912 34 567", "ring 91234567", "tel (555) 123-4567"],
    ids=["email", "international-phone", "national-phone", "us-phone"],
)
def test_a_source_naming_a_person_is_refused(client: TestClient, writer: dict[str, str], source: str) -> None:
    response = client.post(EVENTS, json=_event(source=source), headers=writer)
    assert response.status_code == 422, response.text
    assert _pointers(response) == ["#/source"]


@pytest.mark.parametrize("source", ["signup form", "spring campaign 2026", "import 2026-03-01T10:15", "batch 123456"])
def test_an_ordinary_source_is_kept(client: TestClient, writer: dict[str, str], source: str) -> None:
    response = client.post(EVENTS, json=_event(source=source), headers=writer)
    assert response.status_code == 201, response.text
    assert response.json()["source"] == source


def test_a_batch_answers_every_good_item_and_marks_each_bad_one(client: TestClient, writer: dict[str, str]) -> None:
    items = [
        {"subject_id": str(uuid.uuid4()), "purpose": "analytics"},
        {"subject_id": str(uuid.uuid4()), "purpose": "no-such-purpose"},
        {"email": "not an address", "purpose": "analytics"},
        {"device_id": device_token(), "cookie": "performance"},
    ]
    response = client.post(BATCH, json={"items": items}, headers=writer)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [("problem" in r) for r in results] == [False, True, True, False]
    not_declared, not_an_address = results[1]["problem"], results[2]["problem"]
    assert (not_declared["status"], not_declared["type"]) == (404, "urn:dataright:problem:not-found")
    assert not_declared["instance"].endswith("#/items/1")
    assert (not_an_address["status"], not_an_address["type"]) == (422, "urn:dataright:problem:validation-failed")
    assert "email" in not_an_address["detail"] and "not an address" not in not_an_address["detail"]
    assert results[0]["target"] == "purpose:analytics" and results[3]["target"] == "cookie:performance"


def test_a_batch_item_breaking_the_schema_refuses_the_whole_request(client: TestClient, writer: dict[str, str]) -> None:
    items = [{"subject_id": str(uuid.uuid4()), "purpose": "analytics"}, {"purpose": "analytics", "cookie": "targeting"}]
    response = client.post(BATCH, json={"items": items}, headers=writer)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "#/items/1"
