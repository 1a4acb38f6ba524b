"""The consent API over HTTP against a real database: record, check, GPC, history, banners, unsubscribe."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from consent_helpers import NESTIT, NEXALEARN, device_token, email
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dataright.config import Settings, use_settings
from dataright.consent import api as consent_api
from dataright.web.dependencies import WindowLimiter
from fixtures.web import MakeKey

PROOF = {"text": "Ja, dere kan bruke analyseverktøy.", "language": "nb"}


@pytest.fixture
def writer(make_key: MakeKey) -> dict[str, str]:
    token = make_key(scopes=["consent:write"], controllers=[NEXALEARN, NESTIT])
    return {"Authorization": f"Bearer {token}"}


def _record(client: TestClient, headers: dict[str, str], body: dict[str, Any], controller: str = NEXALEARN) -> Any:
    response = client.post(f"/api/v1/consent/events?controller={controller}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _check(client: TestClient, headers: dict[str, str], query: str, controller: str = NEXALEARN, **extra: str) -> Any:
    response = client.get(f"/api/v1/consent/check?controller={controller}&{query}", headers={**headers, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_record_then_check_by_subject_id_and_by_e_mail(client: TestClient, writer: dict[str, str]) -> None:
    address = email()
    event = _record(
        client, writer, {"subject": {"email": address}, "purpose": "analytics", "kind": "given", "proof": PROOF}
    )
    assert event["kind"] == "given"
    assert event["receipt"]["consentReceiptID"] == event["receipt_id"]
    assert event["receipt"]["piiPrincipalId"] == f"s:{event['subject_id']}"
    assert address not in str(event)
    answer = _check(client, writer, f"subject_id={event['subject_id']}&purpose=analytics")
    assert answer == {
        "target": "purpose:analytics",
        "allowed": True,
        "basis": "consent",
        "reason": "consent_given",
        "event_id": event["id"],
    }
    batch = client.post(
        f"/api/v1/consent/check/batch?controller={NEXALEARN}",
        json={
            "items": [
                {"email": address.upper(), "purpose": "analytics"},
                {"email": address, "purpose": "teaching"},
                {"email": email(), "purpose": "analytics"},
                {"subject_id": event["subject_id"], "topic": "birthday-greetings", "channel": "email"},
            ]
        },
        headers=writer,
    )
    assert batch.status_code == 200, batch.text
    results = [(r["allowed"], r["basis"], r["reason"]) for r in batch.json()["results"]]
    assert results == [
        (True, "consent", "consent_given"),
        (True, "contract", "basis_applies"),
        (False, "consent", "no_consent"),  # nobody with that address: no consent
        (True, "legitimate_interests", "basis_applies"),
    ]


def test_a_withdrawal_is_effective_at_once_and_the_history_keeps_both(
    client: TestClient, writer: dict[str, str]
) -> None:
    subject = {"email": email()}
    given = _record(client, writer, {"subject": subject, "purpose": "analytics", "kind": "given", "proof": PROOF})
    withdrawn = _record(client, writer, {"subject": subject, "purpose": "analytics", "kind": "withdrawn"})
    answer = _check(client, writer, f"subject_id={given['subject_id']}&purpose=analytics")
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (False, "consent_withdrawn", withdrawn["id"])
    history = client.get(
        f"/api/v1/consent/subjects/{given['subject_id']}/history?controller={NEXALEARN}", headers=writer
    ).json()
    assert [(e["id"], e["kind"], e["receipt"]["eventType"]) for e in history["events"]] == [
        (given["id"], "given", "given"),
        (withdrawn["id"], "withdrawn", "withdrawn"),
    ]
    one = client.get(f"/api/v1/consent/events/{given['id']}?controller={NEXALEARN}", headers=writer)
    assert one.json()["receipt"] == given["receipt"]


def test_sec_gpc_on_a_check_beats_an_earlier_opt_in(client: TestClient, writer: dict[str, str]) -> None:
    event = _record(client, writer, {"subject": {"email": email()}, "purpose": "targeted-advertising", "kind": "given"})
    query = f"subject_id={event['subject_id']}&purpose=targeted-advertising"
    assert _check(client, writer, query)["allowed"] is True
    with_gpc = _check(client, writer, query, **{"Sec-GPC": "1"})
    assert (with_gpc["allowed"], with_gpc["reason"], with_gpc["event_id"]) == (False, "gpc_opt_out", None)
    assert _check(client, writer, query)["reason"] == "consent_given"  # the check recorded nothing


def test_an_opt_in_sent_with_gpc_is_recorded_as_an_opt_out(client: TestClient, writer: dict[str, str]) -> None:
    response = client.post(
        f"/api/v1/consent/events?controller={NEXALEARN}",
        json={"subject": {"email": email()}, "purpose": "targeted-advertising", "kind": "given"},
        headers={**writer, "Sec-GPC": "1"},
    )
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["reason"]) == ("gpc_opt_out", "gpc_signal")


def test_a_childs_consent_is_recorded_as_refused(client: TestClient, writer: dict[str, str]) -> None:
    birth = date(date.today().year - 12, 1, 1).isoformat()
    event = _record(
        client,
        writer,
        {"subject": {"email": email(), "birth_date": birth}, "purpose": "analytics", "kind": "given"},
    )
    assert (event["kind"], event["reason"]) == ("refused", "below_consent_age")


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"subject": {"email": "x@example.org"}, "purpose": "nope", "kind": "given"}, 404, "'nope' is not declared"),
        ({"subject": {"email": "x@example.org"}, "purpose": "teaching", "kind": "given"}, 422, "rests on contract"),
        ({"purpose": "analytics", "kind": "given"}, 422, "exactly one of subject and device_id"),
        ({"subject": {}, "purpose": "analytics", "kind": "given"}, 422, "give subject_id or at least one"),
        ({"subject": {"email": "x@example.org"}, "kind": "given"}, 422, "exactly one of purpose, cookie or topic"),
    ],
)
def test_bad_events_are_problems_that_say_what_is_wrong(
    client: TestClient, writer: dict[str, str], body: dict[str, Any], status: int, detail: str
) -> None:
    response = client.post(f"/api/v1/consent/events?controller={NEXALEARN}", json=body, headers=writer)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_preferences_are_read_and_switched(client: TestClient, writer: dict[str, str]) -> None:
    event = _record(
        client, writer, {"subject": {"email": email()}, "purpose": "newsletter", "kind": "withdrawn"}, NESTIT
    )
    url = f"/api/v1/consent/subjects/{event['subject_id']}/preferences?controller={NESTIT}"
    before = {(p["topic"], p["channel"]): p["allowed"] for p in client.get(url, headers=writer).json()["preferences"]}
    assert before[("newsletter-email", "email")] is False
    response = client.put(
        url,
        json={"choices": [{"topic": "newsletter-email", "channel": "email", "enabled": True}], "proof": PROOF},
        headers=writer,
    )
    assert response.status_code == 200, response.text
    after = {(p["topic"], p["channel"]): p for p in response.json()["preferences"]}
    assert after[("newsletter-email", "email")]["allowed"] is True
    assert after[("newsletter-sms", "sms")]["allowed"] is False  # the purpose-level withdrawal still holds there


# -- cookie banner --------------------------------------------------------------------------------
def test_the_cookie_banner_needs_no_key_and_links_to_the_subject_on_login(
    client: TestClient, writer: dict[str, str]
) -> None:
    subject = _record(client, writer, {"subject": {"email": email()}, "purpose": "analytics", "kind": "refused"})
    assert _check(client, writer, f"subject_id={subject['subject_id']}&purpose=analytics")["allowed"] is False
    token = device_token()
    banner = client.post(
        "/api/v1/cookie-consent",
        json={"controller": NEXALEARN, "device_id": token, "accepted": ["performance"], "proof": PROOF},
    )
    assert banner.status_code == 201, banner.text
    kinds = {e["target"]: e["kind"] for e in banner.json()["events"]}
    assert kinds["cookie:performance"] == "given"
    assert kinds["purpose:analytics"] == "given"
    assert all(e["subject_id"] is None for e in banner.json()["events"])
    assert _check(client, writer, f"device_id={token}&cookie=performance")["allowed"] is True
    linked = client.post(
        f"/api/v1/consent/devices/link?controller={NEXALEARN}",
        json={"device_id": token, "subject_id": subject["subject_id"]},
        headers=writer,
    )
    assert linked.status_code == 200, linked.text
    assert {e["target"] for e in linked.json()} >= {"purpose:analytics", "cookie:performance"}
    assert _check(client, writer, f"subject_id={subject['subject_id']}&purpose=analytics")["allowed"] is True


def test_gpc_on_the_banner_refuses_targeting(client: TestClient) -> None:
    banner = client.post(
        "/api/v1/cookie-consent",
        json={"controller": NEXALEARN, "device_id": device_token(), "accepted": ["targeting"]},
        headers={"Sec-GPC": "1"},
    )
    assert {e["target"]: e["kind"] for e in banner.json()["events"]}["cookie:targeting"] == "gpc_opt_out"


def test_the_cookie_banner_cannot_name_a_subject(client: TestClient) -> None:
    response = client.post(
        "/api/v1/cookie-consent",
        json={"controller": NEXALEARN, "device_id": device_token(), "accepted": [], "subject_id": str(uuid.uuid4())},
    )
    assert response.status_code == 422


def test_the_cookie_banner_is_rate_limited_per_address(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consent_api, "cookie_consent_limiter", WindowLimiter(2))
    body = {"controller": NEXALEARN, "device_id": device_token(), "accepted": []}
    statuses = [client.post("/api/v1/cookie-consent", json=body).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    limited = client.post("/api/v1/cookie-consent", json=body)
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert "at most 120 cookie choices a minute from one address" in limited.json()["detail"]
    with TestClient(app, raise_server_exceptions=False, client=("192.0.2.7", 40000)) as elsewhere:
        other = [elsewhere.post("/api/v1/cookie-consent", json=body).status_code for _ in range(3)]
    assert other == [201, 201, 429], "another address has its own count"
    assert client.post("/api/v1/cookie-consent", json=body).status_code == 429, "and did not reset the first"


def test_unknown_devices_and_controllers(client: TestClient, writer: dict[str, str]) -> None:
    assert _check(client, writer, f"device_id={device_token()}&cookie=performance")["reason"] == "no_consent"
    response = client.post(
        "/api/v1/cookie-consent", json={"controller": "nobody", "device_id": device_token(), "accepted": []}
    )
    assert response.status_code == 404


# -- one-click unsubscribe ------------------------------------------------------------------------
def test_one_click_unsubscribe_from_a_link_without_logging_in(client: TestClient, writer: dict[str, str]) -> None:
    event = _record(
        client,
        writer,
        {"subject": {"email": email()}, "topic": "newsletter-email", "channel": "email", "kind": "given"},
        NESTIT,
    )
    link = client.get(
        f"/api/v1/consent/subjects/{event['subject_id']}/unsubscribe-link"
        f"?controller={NESTIT}&topic=newsletter-email&channel=email",
        headers=writer,
    ).json()
    assert link["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link["headers"]["List-Unsubscribe"] == f"<{link['url']}>"
    path = link["url"].removeprefix("https://testserver")

    page = client.get(path)
    assert page.status_code == 200
    assert "Avregistrera mig" in page.text  # NestIT writes Swedish first
    assert f'action="{path}"' in page.text
    query = f"subject_id={event['subject_id']}&topic=newsletter-email&channel=email"
    assert _check(client, writer, query, NESTIT)["allowed"] is True  # a GET changes nothing

    done = client.post(
        path, content="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert done.status_code == 200
    assert "Du är avregistrerad" in done.text
    answer = _check(client, writer, query, NESTIT)
    assert (answer["allowed"], answer["reason"]) == (False, "consent_withdrawn")
    again = client.post(path, content="List-Unsubscribe=One-Click")
    assert "redan avregistrerad" in again.text
    history = client.get(
        f"/api/v1/consent/subjects/{event['subject_id']}/history?controller={NESTIT}", headers=writer
    ).json()["events"]
    assert [(e["kind"], e["method"]) for e in history] == [("given", "api"), ("withdrawn", "one_click")]


def _unsubscribe_path(client: TestClient, writer: dict[str, str], subject_id: str, extra: str = "") -> str:
    link = client.get(
        f"/api/v1/consent/subjects/{subject_id}/unsubscribe-link"
        f"?controller={NESTIT}&topic=newsletter-email&channel=email{extra}",
        headers=writer,
    )
    assert link.status_code == 200, link.text
    return str(link.json()["url"]).removeprefix("https://testserver")


def test_an_unsubscribe_link_does_not_show_whom_it_unsubscribes(client: TestClient, writer: dict[str, str]) -> None:
    address = email()
    event = _record(
        client,
        writer,
        {"subject": {"email": address}, "topic": "newsletter-email", "channel": "email", "kind": "given"},
        NESTIT,
    )
    path = _unsubscribe_path(client, writer, event["subject_id"])
    subject = uuid.UUID(event["subject_id"])
    for shown in (subject.hex, str(subject), address, NESTIT):
        assert shown not in path
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("language", "accept", "expected"),
    [
        ("en", "sv", "Do you want to stop receiving these messages?"),  # the message's language wins
        ("sv", "en", "Vill du sluta ta emot dessa meddelanden?"),
        (None, "en-GB,en;q=0.9", "Do you want to stop receiving these messages?"),  # else the browser's
        (None, "de, en;q=0.5, sv;q=0.8", "Vill du sluta ta emot dessa meddelanden?"),  # by q-value, offered only
        (None, "de", "Vill du sluta ta emot dessa meddelanden?"),  # else the controller's first language
        (None, None, "Vill du sluta ta emot dessa meddelanden?"),
    ],
    ids=["link-en", "link-sv", "browser-en", "browser-by-quality", "browser-unoffered", "no-preference"],
)
def test_the_unsubscribe_page_speaks_the_persons_language(
    client: TestClient, writer: dict[str, str], language: str | None, accept: str | None, expected: str
) -> None:
    event = _record(
        client,
        writer,
        {"subject": {"email": email()}, "topic": "newsletter-email", "channel": "email", "kind": "given"},
        NESTIT,
    )
    path = _unsubscribe_path(client, writer, event["subject_id"], f"&language={language}" if language else "")
    page = client.get(path, headers={"Accept-Language": accept} if accept else {})
    assert page.status_code == 200
    assert expected in page.text
    lang = "en" if "Do you want" in expected else "sv"
    assert f'<html lang="{lang}">' in page.text and page.headers["content-language"] == lang


def test_a_link_in_a_language_the_controller_does_not_write_is_refused(
    client: TestClient, writer: dict[str, str]
) -> None:
    event = _record(
        client,
        writer,
        {"subject": {"email": email()}, "topic": "newsletter-email", "channel": "email", "kind": "given"},
        NESTIT,
    )
    response = client.get(
        f"/api/v1/consent/subjects/{event['subject_id']}/unsubscribe-link"
        f"?controller={NESTIT}&topic=newsletter-email&channel=email&language=nb",
        headers=writer,
    )
    assert response.status_code == 422
    assert "language: 'nb' is not one of" in response.text and "languages (sv, en)" in response.text


def test_the_unsubscribe_page_says_so_when_the_person_is_already_unsubscribed(
    client: TestClient, writer: dict[str, str]
) -> None:
    event = _record(
        client,
        writer,
        {"subject": {"email": email()}, "topic": "newsletter-email", "channel": "email", "kind": "given"},
        NESTIT,
    )
    path = _unsubscribe_path(client, writer, event["subject_id"], "&language=en")
    assert "<button" in client.get(path).text
    _record(
        client,
        writer,
        {
            "subject": {"subject_id": event["subject_id"]},
            "topic": "newsletter-email",
            "channel": "email",
            "kind": "withdrawn",
        },
        NESTIT,
    )
    page = client.get(path)
    assert page.status_code == 200
    assert "You were already unsubscribed from these messages." in page.text
    assert "<button" not in page.text and "<form" not in page.text


def test_a_link_needs_https_unless_the_server_runs_on_loopback(
    client: TestClient, writer: dict[str, str], settings: Settings
) -> None:
    event = _record(
        client,
        writer,
        {"subject": {"email": email()}, "topic": "newsletter-email", "channel": "email", "kind": "given"},
        NESTIT,
    )
    url = (
        f"/api/v1/consent/subjects/{event['subject_id']}/unsubscribe-link"
        f"?controller={NESTIT}&topic=newsletter-email&channel=email"
    )
    use_settings(settings.model_copy(update={"base_url": "http://privacy.nestit.se"}))
    refused = client.get(url, headers=writer)
    assert refused.status_code == 500
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["title"] == "Server misconfigured"  # the log names base_url; the caller learns no more
    use_settings(settings.model_copy(update={"base_url": "http://127.0.0.1:8000"}))
    local = client.get(url, headers=writer)
    assert local.status_code == 200 and local.json()["url"].startswith("http://127.0.0.1:8000/u/")


def test_a_tampered_unsubscribe_link_shows_an_error_page(client: TestClient) -> None:
    for method in ("GET", "POST"):
        response = client.request(method, "/u/bm90LWEtdG9rZW4.AAAAAAAAAAAAAAAAAAAAAA")
        assert response.status_code == 404
        assert "not valid" in response.text
