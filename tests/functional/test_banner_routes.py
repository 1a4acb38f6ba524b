"""The banner's public routes over HTTP (script, stylesheet, demo site) and the records the banner makes through
``POST /api/v1/cookie-consent``, against a real database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dataright.config import Settings
from dataright.cookies.banner import revision_of
from dataright.declarations.registry import DeclarationRegistry
from dataright.web.app import create_app

NEXALEARN = "nexalearn"
NESTIT = "nestit-group-ab"


def device() -> str:
    return secrets.token_urlsafe(16)


def test_the_script_is_served_with_an_etag_and_revalidates_to_304(client: TestClient) -> None:
    first = client.get(f"/banner/{NEXALEARN}.js")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "public, max-age=300"
    assert "window.__datarightBanner=" in first.text and "CookieConsent" in first.text
    etag = first.headers["etag"]
    again = client.get(f"/banner/{NEXALEARN}.js", headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    stale = client.get(f"/banner/{NEXALEARN}.js", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200


def test_each_controller_gets_its_own_script(client: TestClient, registry: DeclarationRegistry) -> None:
    nexalearn = client.get(f"/banner/{NEXALEARN}.js")
    nestit = client.get(f"/banner/{NESTIT}.js")
    assert nexalearn.headers["etag"] != nestit.headers["etag"]
    revision = revision_of(registry.controller(NESTIT).declaration, NESTIT)
    assert f'"revision":"{revision}"' in nestit.text


def test_the_stylesheet_is_served_with_an_etag(client: TestClient) -> None:
    css = client.get(f"/banner/{NESTIT}.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "#cc-main" in css.text
    assert client.get(f"/banner/{NESTIT}.css", headers={"If-None-Match": css.headers["etag"]}).status_code == 304


@pytest.mark.parametrize("path", ["/banner/nobody.js", "/banner/nobody.css"])
def test_an_unknown_controller_is_a_404_problem(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "'nobody'" in response.json()["detail"]


def test_the_demo_site_is_not_served_outside_demo_mode(client: TestClient) -> None:
    response = client.get(f"/demo/{NEXALEARN}/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "demo mode" in response.json()["detail"]


@pytest.fixture
def demo_client(engine: Engine, settings: Settings, registry: DeclarationRegistry) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"demo": True}), registry)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_in_demo_mode_each_controller_has_a_demo_site_with_one_script_tag_and_marked_scripts(
    demo_client: TestClient,
) -> None:
    page = demo_client.get(f"/demo/{NESTIT}/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="sv">' in html
    assert html.count("<script src=") == 1 and f'<script src="/banner/{NESTIT}.js"></script>' in html
    assert '<script type="text/plain" data-category="performance">' in html
    assert '<script type="text/plain" data-category="targeting">' in html
    assert 'data-cc="show-preferencesModal">Anpassa kakor</a>' in html
    assert '<html lang="en">' in demo_client.get(f"/demo/{NESTIT}/?lang=en").text
    assert '<html lang="sv">' in demo_client.get(f"/demo/{NESTIT}/?lang=xx").text  # not one of its languages
    assert demo_client.get("/demo/nobody/").status_code == 404


# -- the records -----------------------------------------------------------------------------------------
def _choose(client: TestClient, token: str, accepted: list[str], **extra: object) -> dict[str, dict[str, object]]:
    headers = extra.pop("headers", {})
    body = {"controller": NESTIT, "device_id": token, "accepted": accepted, **extra}
    response = client.post("/api/v1/cookie-consent", json=body, headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    return {e["target"]: e for e in response.json()["events"]}


def test_a_banner_choice_is_recorded_with_its_revision_language_and_categories(client: TestClient) -> None:
    events = _choose(client, device(), ["performance"], banner_revision="0a1b2c3d", language="sv")
    event = events["cookie:performance"]
    assert event["kind"] == "given"
    assert event["source"] == "cookie banner revision 0a1b2c3d"
    receipt = event["receipt"]
    assert receipt["cookieBanner"] == {
        "revision": "0a1b2c3d",
        "language": "sv",
        "accepted": ["performance"],
        "rejected": ["functional", "targeting"],
        "gpc": False,
    }
    assert receipt["language"] == "sv" and receipt["eventTime"]
    # every event of the choice carries the whole choice
    assert events["cookie:targeting"]["receipt"]["cookieBanner"] == receipt["cookieBanner"]


@pytest.mark.parametrize("signal", [{"gpc": True}, {"headers": {"Sec-GPC": "1"}}])
def test_gpc_in_the_body_or_the_header_rejects_targeting_and_the_receipt_says_so(
    client: TestClient, signal: dict[str, object]
) -> None:
    events = _choose(client, device(), ["performance", "targeting"], banner_revision="0a1b2c3d", **signal)
    assert events["cookie:targeting"]["kind"] == "gpc_opt_out"
    banner = events["cookie:performance"]["receipt"]["cookieBanner"]
    assert banner["gpc"] is True
    assert banner["accepted"] == ["performance"]
    assert "targeting" in banner["rejected"]


def test_a_malformed_revision_is_refused(client: TestClient) -> None:
    body = {"controller": NESTIT, "device_id": device(), "accepted": [], "banner_revision": "not hex!"}
    response = client.post("/api/v1/cookie-consent", json=body)
    assert response.status_code == 422
    assert "banner_revision" in response.text
