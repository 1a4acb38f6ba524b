"""The breach API over HTTP: scopes breach:read|write, per controller, problems for bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fixtures.web import MakeKey

BASE = "/api/v1/controllers/nestpros/breaches"
INCIDENT = {
    "occurred_at": "2026-11-30T08:00:00+08:00",
    "aware_at": "2026-11-30T10:00:00+08:00",
    "description": "A partner's mailing list export was exposed.",
    "systems": ["marketing-partners"],
    "categories": ["user.name", "user.contact.email"],
    "affected_people": 600,
    "affected_people_estimated": True,
    "likely_consequences": "Phishing e-mails.",
    "measures": "Export withdrawn.",
}


def test_a_nestpros_breach_over_http_is_notifiable_and_its_document_fills_the_pdpc_form(
    client: TestClient, make_key: MakeKey
) -> None:
    writer = {"Authorization": f"Bearer {make_key(scopes=['breach:write'], controllers=['nestpros'])}"}
    reader = {"Authorization": f"Bearer {make_key(scopes=['breach:read'], controllers=['nestpros'])}"}
    opened = client.post(BASE, json=INCIDENT, headers=writer)
    assert opened.status_code == 201, opened.text
    (record,) = opened.json()
    assert record["timezone"] == "Asia/Singapore"
    assert [d["state"] for d in record["deadlines"]] == ["running", "waiting", "open_ended"]

    assessed = client.post(
        f"{BASE}/{record['id']}/assessment",
        json={"assessed_on": "2026-12-01", "significant_harm": True},
        headers=writer,
    )
    assert assessed.status_code == 200, assessed.text
    authority = next(d for d in assessed.json()["deadlines"] if d["clock"] == "authority")
    assert authority["due"] == "2026-12-04T15:59:59Z" or authority["due"].startswith("2026-12-04T23:59:59+08")
    document = client.get(f"{BASE}/{record['id']}/authority-notification?format=md", headers=reader)
    assert document.status_code == 200 and "| Number of affected individuals | 600 (estimate) |" in document.text

    assert client.post(BASE, json=INCIDENT, headers=reader).status_code == 403
    assert client.get(BASE).status_code == 401
    other = {"Authorization": f"Bearer {make_key(scopes=['breach:read'], controllers=['nexalearn'])}"}
    assert client.get(f"{BASE}/{record['id']}", headers=other).status_code == 403


def test_bad_input_is_a_problem_naming_it(client: TestClient, make_key: MakeKey) -> None:
    writer = {"Authorization": f"Bearer {make_key(scopes=['breach:write'], controllers=['nestpros'])}"}
    response = client.post(BASE, json={**INCIDENT, "aware_at": "2026-11-30T07:00:00+08:00"}, headers=writer)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "aware_at: before occurred_at" in response.json()["detail"]
    response = client.post(BASE, json={**INCIDENT, "systems": ["mainframe"]}, headers=writer)
    assert response.status_code == 422 and "unknown system(s) mainframe" in response.json()["detail"]
