"""The cookie banner in a real browser: Debian's headless Chromium, driven by Playwright, on the demo sites of a
real ``dataright serve --demo`` (``fixtures.demo``).

NestIT Group AB's site (Swedish first, then English) has performance and targeting scripts; NexaLearn's
(Norwegian first) has functional and performance ones. Every choice is checked where it lands: in the page
(which marked scripts ran, which cookies exist, what reached ``dataLayer``) and in the consent API (the events
the banner recorded, read back with a key, each with its receipt).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest

from fixtures.demo import DemoServer

pytestmark = pytest.mark.browser

NESTIT = "nestit-group-ab"
NEXALEARN = "nexalearn"
NESTIT_NECESSARY = {"nestit_session", "nestit_cookie_consent"}
GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
CONSENT_MODAL = "#cc-main .cm"
PREFERENCES_MODAL = "#cc-main .pm"
TIMEOUT = 20_000


class Visit:
    """One visitor: a fresh browser context (no cookies) on a demo site, with the banner's API answers kept."""

    def __init__(self, context: Any, server: DemoServer, controller: str) -> None:
        self.context = context
        self.server = server
        self.controller = controller
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.recorded: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, query: str = "") -> Visit:
        self.page.goto(self.server.url(f"/demo/{self.controller}/{query}"))
        self.page.wait_for_selector(CONSENT_MODAL, state="visible")
        return self

    def choose(self, selector: str) -> dict[str, Any]:
        """Click a banner button and wait for the choice to be recorded (201)."""
        with self.page.expect_response(lambda r: r.url.endswith("/api/v1/cookie-consent")) as answer:
            self.page.click(selector)
        response = answer.value
        assert response.status == 201, response.text()
        body: dict[str, Any] = response.json()
        self.recorded.append(body)
        return body

    def cookies(self) -> set[str]:
        return {c["name"] for c in self.context.cookies()}

    def ran(self) -> dict[str, int]:
        ran: dict[str, int] = self.page.evaluate("window.__demoRan || {}")
        return ran

    def data_layer(self) -> list[list[Any]]:
        entries: list[list[Any]] = self.page.evaluate("(window.dataLayer || []).map(e => Array.from(e))")
        return entries

    def banner_cookie(self) -> dict[str, Any]:
        [raw] = [c["value"] for c in self.context.cookies() if c["name"] == "nestit_cookie_consent"]
        value: dict[str, Any] = json.loads(unquote(raw))
        return value

    def revision(self) -> str:
        revision: str = self.page.evaluate("window.__datarightBanner.revision")
        return revision

    def event(self, event_id: int) -> dict[str, Any]:
        answer = self.server.get(f"/api/v1/consent/events/{event_id}", controller=self.controller)
        assert answer.status_code == 200, answer.text
        event: dict[str, Any] = answer.json()
        return event


@pytest.fixture
def visit(chromium: Any, demo_server: DemoServer) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(controller: str = NESTIT, *, gpc: bool = False) -> Visit:
        context = chromium.new_context(viewport={"width": 900, "height": 600})
        if gpc:
            context.add_init_script(GPC_ON)
        contexts.append(context)
        return Visit(context, demo_server, controller)

    yield make
    for context in contexts:
        context.close()


def by_target(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["target"]: e for e in answer["events"]}


def test_reject_all_then_accepting_performance_records_both_choices_and_runs_only_what_was_accepted(visit) -> None:
    v = visit(NESTIT).open()
    # before any choice: only strictly necessary cookies, no marked script has run
    assert v.cookies() <= NESTIT_NECESSARY
    assert v.ran() == {}

    first = v.choose(f"{CONSENT_MODAL} [data-role='necessary']")
    assert v.ran() == {}
    assert v.cookies() <= NESTIT_NECESSARY
    assert {t: e["kind"] for t, e in by_target(first).items() if t.startswith("cookie:")} == {
        "cookie:functional": "refused",
        "cookie:performance": "refused",
        "cookie:targeting": "refused",
    }

    # the footer's "Customize cookies" link reopens the preferences
    v.page.click("footer a[href='#customize-cookies']")
    v.page.wait_for_selector(PREFERENCES_MODAL, state="visible")
    v.page.check(f"{PREFERENCES_MODAL} input[value='performance']", force=True)
    second = v.choose(f"{PREFERENCES_MODAL} [data-role='save']")

    v.page.wait_for_function("(window.__demoRan || {}).performance === 1")
    assert v.ran() == {"performance": 1}  # the targeting script never ran
    assert {"_ga", "_ga_demo"} <= v.cookies()
    assert "_gcl_au" not in v.cookies()
    assert by_target(second)["cookie:performance"]["kind"] == "given"
    assert by_target(second)["cookie:targeting"]["kind"] == "refused"

    # both choices are in the consent API, each event with a receipt naming the banner and the whole choice
    revision = v.revision()
    for answer, accepted in ((first, []), (second, ["performance"])):
        event = v.event(by_target(answer)["cookie:performance"]["id"])
        assert event["source"] == f"cookie banner revision {revision}"
        assert event["method"] == "banner"
        banner = event["receipt"]["cookieBanner"]
        assert banner["revision"] == revision
        assert banner["language"] == "sv"
        assert banner["accepted"] == accepted
        assert set(banner["rejected"]) == {"functional", "performance", "targeting"} - set(accepted)
        assert banner["gpc"] is False
        assert event["receipt"]["eventTime"]
    assert v.errors == []


def test_withdrawing_stops_the_scripts_and_clears_their_cookies(visit) -> None:
    v = visit(NESTIT).open()
    v.choose(f"{CONSENT_MODAL} [data-role='all']")
    v.page.wait_for_function("(window.__demoRan || {}).targeting === 1")
    assert {"_ga", "_ga_demo", "_gcl_au"} <= v.cookies()

    v.page.click("footer a[href='#customize-cookies']")
    v.page.wait_for_selector(PREFERENCES_MODAL, state="visible")
    answer = v.choose(f"{PREFERENCES_MODAL} [data-role='necessary']")
    assert by_target(answer)["cookie:performance"]["kind"] == "withdrawn"
    assert not {"_ga", "_ga_demo", "_gcl_au"} & v.cookies()

    v.page.reload()
    v.page.wait_for_load_state("load")
    assert not v.page.is_visible(CONSENT_MODAL)  # the choice is kept: no banner
    assert v.ran() == {}  # and nothing withdrawn is loaded again
    assert not {"_ga", "_ga_demo", "_gcl_au"} & v.cookies()


def test_a_changed_banner_revision_asks_again(visit) -> None:
    v = visit(NESTIT).open()
    v.choose(f"{CONSENT_MODAL} [data-role='necessary']")
    v.page.reload()
    v.page.wait_for_load_state("load")
    assert not v.page.is_visible(CONSENT_MODAL)

    # as if the choice had been made under an earlier declaration
    kept = v.banner_cookie()
    kept["revision"] = kept["revision"] - 1
    [cookie] = [c for c in v.context.cookies() if c["name"] == "nestit_cookie_consent"]
    v.context.add_cookies([{**cookie, "value": json.dumps(kept, separators=(",", ":"))}])
    v.page.reload()
    v.page.wait_for_selector(CONSENT_MODAL, state="visible")


def test_with_gpc_targeting_starts_rejected_the_banner_says_so_and_the_record_notes_it(visit) -> None:
    v = visit(NESTIT, gpc=True).open("?lang=en")
    text = v.page.inner_text(CONSENT_MODAL)
    assert "Global Privacy Control" in text and "targeting cookies stay off" in text

    v.page.click(f"{CONSENT_MODAL} [data-role='show']")
    v.page.wait_for_selector(PREFERENCES_MODAL, state="visible")
    toggle = v.page.locator(f"{PREFERENCES_MODAL} input[value='targeting']")
    assert not toggle.is_checked()
    assert toggle.is_disabled()

    answer = v.choose(f"{PREFERENCES_MODAL} [data-role='all']")
    v.page.wait_for_function("(window.__demoRan || {}).performance === 1")
    assert "targeting" not in v.ran()
    assert "_gcl_au" not in v.cookies()
    events = by_target(answer)
    assert events["cookie:targeting"]["kind"] == "gpc_opt_out"
    assert events["cookie:performance"]["kind"] == "given"
    receipt = v.event(events["cookie:performance"]["id"])["receipt"]["cookieBanner"]
    assert receipt["gpc"] is True
    assert "targeting" in receipt["rejected"] and "targeting" not in receipt["accepted"]
    assert receipt["language"] == "en"


def test_consent_mode_default_is_denied_before_anything_and_each_choice_updates_it(visit) -> None:
    v = visit(NESTIT).open()
    layer = v.data_layer()
    assert layer[0][:2] == ["consent", "default"]
    assert {k: layer[0][2][k] for k in ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage")} == {
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
        "analytics_storage": "denied",
    }
    assert not [e for e in layer if e[:2] == ["consent", "update"]]  # nothing is granted before a choice

    v.choose(f"{CONSENT_MODAL} [data-role='all']")
    updates = [e for e in v.data_layer() if e[:2] == ["consent", "update"]]
    assert updates[-1][2] == {
        "ad_storage": "granted",
        "ad_user_data": "granted",
        "ad_personalization": "granted",
        "analytics_storage": "granted",
    }
    v.page.click("footer a[href='#customize-cookies']")
    v.page.wait_for_selector(PREFERENCES_MODAL, state="visible")
    v.choose(f"{PREFERENCES_MODAL} [data-role='necessary']")
    layer = v.data_layer()
    kinds = [e[1] for e in layer if e[0] == "consent"]
    assert kinds[0] == "default" and kinds.count("default") == 1
    assert layer[-1][2]["analytics_storage"] == "denied" and layer[-1][2]["ad_storage"] == "denied"


def test_the_banner_speaks_norwegian_on_nexalearn_and_swedish_on_nestit(visit) -> None:
    nb = visit(NEXALEARN).open()
    text = nb.page.inner_text(CONSENT_MODAL)
    assert "Vi bruker informasjonskapsler" in text
    assert "Godta alle" in text and "Avvis alle" in text

    sv = visit(NESTIT).open()
    text = sv.page.inner_text(CONSENT_MODAL)
    assert "Vi använder kakor" in text
    assert "Godkänn alla" in text and "Avvisa alla" in text


def test_accept_and_reject_are_equally_prominent(visit) -> None:
    v = visit(NESTIT).open()
    accept = v.page.locator(f"{CONSENT_MODAL} [data-role='all']")
    reject = v.page.locator(f"{CONSENT_MODAL} [data-role='necessary']")
    style = "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.fontSize, s.fontWeight]; }"
    assert accept.evaluate(style) == reject.evaluate(style)
    a, r = accept.bounding_box(), reject.bounding_box()
    assert a is not None and r is not None
    assert abs(a["height"] - r["height"]) < 1
