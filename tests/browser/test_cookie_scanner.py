"""``dataright cookies scan`` in Debian's Chromium against small sites served from the test.

The site (``fixtures/cookie_site.py``) imitates a shop of NestIT's: a banner with vanilla-cookieconsent's
buttons (``#cc-main [data-role="necessary"|"all"]``) that stores the choice in ``nestit_cookie_consent``, a
session cookie from the server, and Google Analytics (``_ga``, ``_ga_*``) loaded only after "accept all". Its
variants add what a scan must catch: an undeclared cookie set by the server, and a tracker that ignores the
banner (``_gcl_au``, targeting, written before any choice, plus a local-storage entry).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.declarations.schema import Cookie
from fixtures.cookie_site import Site, Variant, serve
from fixtures.demo import require_browser

pytestmark = pytest.mark.browser

runner = CliRunner()
CONTROLLER = "nestit-group-ab"


@pytest.fixture(scope="module", autouse=True)
def chromium() -> Path:
    """Debian's Chromium and the Playwright package, or a skip (a failure with DATARIGHT_REQUIRE_SERVICES=1)."""
    return require_browser()


@dataclass
class Scan:
    site: Site
    exit_code: int
    output: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.output)


def _scan(examples_dir: Path, site: Site, *extra: str) -> Scan:
    declarations = str(examples_dir / "nestit-group")
    args = ["cookies", "scan", site.url, "--controller", CONTROLLER, "--declarations", declarations, *extra]
    result = runner.invoke(app, args)
    return Scan(site, result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def clean(examples_dir: Path) -> Iterator[Scan]:
    for site in serve(Variant()):
        yield _scan(examples_dir, site, "--format", "json")


@pytest.fixture(scope="module")
def dirty(examples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scan, Path]]:
    draft = tmp_path_factory.mktemp("draft") / "draft.yaml"
    for site in serve(Variant(tracker=True, planted=True)):
        yield _scan(examples_dir, site, "--format", "json", "--draft", str(draft)), draft


def _names(report: dict[str, Any], phase: str, storage: str = "cookies") -> set[str]:
    [entry] = [p for p in report["phases"] if p["phase"] == phase]
    return {c["name"] for c in entry[storage]}


def test_a_clean_site_exits_0_with_only_the_never_seen_notice(clean: Scan) -> None:
    assert clean.exit_code == 0, clean.output + clean.stderr
    findings = clean.report["findings"]
    assert [(f["kind"], f["name"]) for f in findings] == [("never-seen", "_gcl_au")]
    assert clean.report["violations"] == 0


def test_each_phase_sees_what_the_choice_allows(clean: Scan) -> None:
    report = clean.report
    assert _names(report, "before-choice") == {"nestit_session"}
    assert _names(report, "after-reject") == {"nestit_session", "nestit_cookie_consent"}
    assert _names(report, "after-accept") == {"nestit_session", "nestit_cookie_consent", "_ga", "_ga_ABC123"}
    assert [p["choice_made"] for p in report["phases"]] == [None, True, True]


def test_the_crawl_stays_on_the_origin_and_skips_downloads_and_fragments(clean: Scan) -> None:
    base = clean.site.url
    for phase in clean.report["phases"]:
        assert phase["pages"] == [base, base + "about.html"], phase
        assert phase["errors"] == []
    assert "/brochure.pdf" not in clean.site.requested


def test_who_set_each_cookie_is_the_response_or_the_script(clean: Scan) -> None:
    base = clean.site.url
    [accepted] = [p for p in clean.report["phases"] if p["phase"] == "after-accept"]
    setters = {c["name"]: (c["set_via"], c["set_by"]) for c in accepted["cookies"]}
    assert setters == {
        "nestit_session": ("http", base),
        "nestit_cookie_consent": ("script", base + "banner.js"),
        "_ga": ("script", base + "analytics.js"),
        "_ga_ABC123": ("script", base + "analytics.js"),
    }
    by_name = {c["name"]: c for c in accepted["cookies"]}
    assert by_name["nestit_session"]["http_only"] is True
    assert by_name["nestit_session"]["duration"] == "session"
    assert by_name["_ga"]["duration"] == "P1Y"  # asked for two years; Chromium caps a cookie at 400 days
    assert by_name["nestit_cookie_consent"]["duration"] == "P1Y"


def test_a_planted_cookie_and_a_tracker_that_ignores_the_banner_fail_the_scan(dirty: tuple[Scan, Path]) -> None:
    scan, _ = dirty
    assert scan.exit_code == 1, scan.output + scan.stderr
    base = scan.site.url
    found = {(f["kind"], f["storage"], f["name"]): f for f in scan.report["findings"]}
    planted = found[("undeclared", "cookie", "planted_id")]
    assert planted["set_by"] == base + "about.html"
    assert planted["phases"] == ["before-choice", "after-reject", "after-accept"]
    before = found[("before-consent", "cookie", "_gcl_au")]
    assert (before["category"], before["declared_as"]) == ("targeting", "_gcl_au")
    assert before["set_by"] == base + "tracker.js"
    assert ("after-reject", "cookie", "_gcl_au") in found
    storage = found[("undeclared", "localStorage", "trk_uid")]
    assert storage["set_by"] == base + "tracker.js"
    assert ("never-seen", "cookie", "_gcl_au") not in found
    assert scan.report["violations"] == 4


def test_the_draft_holds_valid_entries_for_the_undeclared_only(dirty: tuple[Scan, Path]) -> None:
    _, draft = dirty
    text = draft.read_text(encoding="utf-8")
    entries = yaml.safe_load(text)["cookies"]
    assert [e["name"] for e in entries] == ["planted_id", "trk_uid"]
    for entry in entries:
        Cookie.model_validate(entry)
    planted = entries[0]
    assert (planted["duration"], planted["first_party"], planted["provider"]) == ("P1M", True, "127.0.0.1")
    assert "# review" in text


def test_the_table_names_each_phase_and_each_violation(examples_dir: Path) -> None:
    for site in serve(Variant(tracker=True)):
        scan = _scan(examples_dir, site, "--max-pages", "1")
    assert scan.exit_code == 1
    assert "before any choice: 1 page(s)" in scan.output
    assert 'after "reject all": 1 page(s)' in scan.output
    assert "before-consent" in scan.output and "_gcl_au" in scan.output
    assert "violation(s)" in scan.output


def test_a_site_without_the_banner_fails_because_no_choice_could_be_made(examples_dir: Path) -> None:
    for site in serve(Variant(banner=False)):
        scan = _scan(examples_dir, site, "--format", "json", "--max-pages", "1")
    assert scan.exit_code == 1
    kinds = {(f["kind"], f["name"]) for f in scan.report["findings"] if f["severity"] == "violation"}
    assert kinds == {("banner-not-found", "reject all"), ("banner-not-found", "accept all")}
    assert [p["choice_made"] for p in scan.report["phases"]] == [None, False, False]


def test_a_url_nothing_answers_is_bad_input_exit_2(examples_dir: Path) -> None:
    for site in serve(Variant()):
        url = site.url
    # the server is shut down now: nothing listens on its port
    result = runner.invoke(
        app,
        ["cookies", "scan", url, "--controller", CONTROLLER, "--declarations", str(examples_dir / "nestit-group")],
    )
    assert result.exit_code == 2
    assert f"URL {url}: the page could not be loaded" in result.stderr
