"""A key for one controller learns nothing about another controller's subjects, devices or events: on every
route, "belongs to another controller" and "does not exist" get the same answer (status and body, the id
aside)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from consent_helpers import NESTIT, NEXALEARN, device_token, email
from fastapi.testclient import TestClient
from httpx import Response

from fixtures.web import MakeKey

A = NEXALEARN  # the controller whose key asks
B = NESTIT  # the controller whose subjects, devices and events it asks about
NOBODY = "7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"  # no one's id


class Other:
    """What controller B holds: a subject (with an event), a device with a banner choice."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        body = {"subject": {"email": email()}, "purpose": "newsletter", "kind": "given"}
        event = client.post(f"/api/v1/consent/events?controller={B}", json=body, headers=headers)
        assert event.status_code == 201, event.text
        self.subject_id = str(event.json()["subject_id"])
        self.event_id = int(event.json()["id"])
        self.device = device_token()
        banner = {"controller": B, "device_id": self.device, "accepted": ["performance"]}
        assert client.post("/api/v1/cookie-consent", json=banner).status_code == 201


@pytest.fixture
def keys(make_key: MakeKey) -> tuple[dict[str, str], dict[str, str]]:
    """(a key for A only, a key for B only)."""
    mine = make_key(scopes=["consent:read", "consent:write"], controllers=[A])
    theirs = make_key(scopes=["consent:read", "consent:write"], controllers=[B])
    return {"Authorization": f"Bearer {mine}"}, {"Authorization": f"Bearer {theirs}"}


Ask = Callable[[TestClient, dict[str, str], str], Response]


def _history(client: TestClient, h: dict[str, str], subject: str) -> Response:
    return client.get(f"/api/v1/consent/subjects/{subject}/history?controller={A}", headers=h)


def _get_preferences(client: TestClient, h: dict[str, str], subject: str) -> Response:
    return client.get(f"/api/v1/consent/subjects/{subject}/preferences?controller={A}", headers=h)


def _put_preferences(client: TestClient, h: dict[str, str], subject: str) -> Response:
    body = {"choices": [{"topic": "birthday-greetings", "channel": "email", "enabled": False}]}
    return client.put(f"/api/v1/consent/subjects/{subject}/preferences?controller={A}", json=body, headers=h)


def _unsubscribe_link(client: TestClient, h: dict[str, str], subject: str) -> Response:
    url = f"/api/v1/consent/subjects/{subject}/unsubscribe-link?controller={A}&topic=birthday-greetings&channel=email"
    return client.get(url, headers=h)


def _record_for_subject(client: TestClient, h: dict[str, str], subject: str) -> Response:
    body = {"subject": {"subject_id": subject}, "purpose": "analytics", "kind": "given"}
    return client.post(f"/api/v1/consent/events?controller={A}", json=body, headers=h)


def _record_with_guardian(client: TestClient, h: dict[str, str], subject: str) -> Response:
    body = {
        "subject": {"email": email()},
        "purpose": "analytics",
        "kind": "given",
        "method": "guardian",
        "guardian": {"subject_id": subject},
    }
    return client.post(f"/api/v1/consent/events?controller={A}", json=body, headers=h)


def _link_device(client: TestClient, h: dict[str, str], subject: str) -> Response:
    body = {"device_id": "linked-device-0001", "subject_id": subject}
    return client.post(f"/api/v1/consent/devices/link?controller={A}", json=body, headers=h)


def _check_subject(client: TestClient, h: dict[str, str], subject: str) -> Response:
    return client.get(f"/api/v1/consent/check?controller={A}&subject_id={subject}&purpose=analytics", headers=h)


def _batch_subject(client: TestClient, h: dict[str, str], subject: str) -> Response:
    body = {"items": [{"subject_id": subject, "purpose": "analytics"}]}
    return client.post(f"/api/v1/consent/check/batch?controller={A}", json=body, headers=h)


SUBJECT_ROUTES: dict[str, Ask] = {
    "GET history": _history,
    "GET preferences": _get_preferences,
    "PUT preferences": _put_preferences,
    "GET unsubscribe-link": _unsubscribe_link,
    "POST events (subject_id)": _record_for_subject,
    "POST events (guardian)": _record_with_guardian,
    "POST devices/link": _link_device,
    "GET check (subject_id)": _check_subject,
    "POST check/batch (subject_id)": _batch_subject,
}


def _same(theirs: Response, nobody: Response, their_id: str) -> None:
    assert theirs.status_code == nobody.status_code
    assert theirs.headers.get("content-type") == nobody.headers.get("content-type")
    masked: Any = theirs.text.replace(their_id, NOBODY)
    assert masked == nobody.text


@pytest.mark.parametrize("route", sorted(SUBJECT_ROUTES))
def test_another_controllers_subject_looks_like_no_subject(
    client: TestClient, keys: tuple[dict[str, str], dict[str, str]], route: str
) -> None:
    mine, theirs = keys
    other = Other(client, theirs)
    ask = SUBJECT_ROUTES[route]
    answer_for_theirs = ask(client, mine, other.subject_id)
    answer_for_nobody = ask(client, mine, NOBODY)
    assert answer_for_theirs.status_code in (200, 403, 404), answer_for_theirs.text
    _same(answer_for_theirs, answer_for_nobody, other.subject_id)


def test_another_controllers_event_looks_like_no_event(
    client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
) -> None:
    mine, theirs = keys
    other = Other(client, theirs)
    missing = other.event_id + 10_000_000
    answer_for_theirs = client.get(f"/api/v1/consent/events/{other.event_id}?controller={A}", headers=mine)
    answer_for_nobody = client.get(f"/api/v1/consent/events/{missing}?controller={A}", headers=mine)
    assert answer_for_theirs.status_code == 404
    assert answer_for_nobody.status_code == 404
    assert answer_for_theirs.text.replace(str(other.event_id), "<id>") == answer_for_nobody.text.replace(
        str(missing), "<id>"
    )


@pytest.mark.parametrize("route", ["GET check (device_id)", "POST check/batch (device_id)"])
def test_another_controllers_device_looks_like_an_unknown_device(
    client: TestClient, keys: tuple[dict[str, str], dict[str, str]], route: str
) -> None:
    mine, theirs = keys
    other = Other(client, theirs)
    unknown = device_token()

    def ask(device: str) -> Response:
        if route.startswith("GET"):
            url = f"/api/v1/consent/check?controller={A}&device_id={device}&cookie=performance"
            return client.get(url, headers=mine)
        body = {"items": [{"device_id": device, "cookie": "performance"}]}
        return client.post(f"/api/v1/consent/check/batch?controller={A}", json=body, headers=mine)

    answer_for_theirs, answer_for_unknown = ask(other.device), ask(unknown)
    assert answer_for_theirs.status_code == 200
    assert answer_for_theirs.json() == answer_for_unknown.json()
    assert "no_consent" in answer_for_theirs.text


def test_a_banner_choice_under_another_controllers_device_id_starts_a_new_device(
    client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
) -> None:
    _, theirs = keys
    other = Other(client, theirs)
    body = {"controller": A, "device_id": other.device, "accepted": []}
    reused, fresh = (
        client.post("/api/v1/cookie-consent", json={**body, "device_id": d}) for d in (other.device, device_token())
    )
    assert reused.status_code == fresh.status_code == 201
    kinds = [[(e["target"], e["kind"]) for e in r.json()["events"]] for r in (reused, fresh)]
    assert kinds[0] == kinds[1]
