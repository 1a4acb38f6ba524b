"""The scan's comparison with the declaration, without a browser: observations + declared cookies -> findings."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dataright.cookies.findings import (
    Finding,
    Kind,
    Observation,
    Phase,
    PhaseOutcome,
    Report,
    SetVia,
    Severity,
    Storage,
    compare,
    draft_yaml,
    duration_of,
    guess,
    match_declared,
    name_matches,
)
from dataright.cookies.scanner import check_url, script_from_stack
from dataright.declarations.periods import Period
from dataright.declarations.schema import Cookie, CookieCategory, Declaration
from dataright.errors import ValidationFailed

DAY = 86400.0
SITE = "https://shop.example"


def _cookie(name: str, category: str = "performance", **extra: object) -> Cookie:
    return Cookie.model_validate(
        {"name": name, "provider": "P", "category": category, "duration": "P1Y", "purpose": {"en": "x"}, **extra}
    )


def _seen(name: str, phase: Phase, *, storage: Storage = Storage.cookie, lifetime: float | None = None) -> Observation:
    return Observation(
        phase=phase,
        storage=storage,
        name=name,
        domain="shop.example",
        page=SITE + "/",
        expires=None if lifetime is None else 1000.0 + lifetime,
        seen_at=1000.0,
        set_by=SITE + "/t.js",
        set_via=SetVia.script,
    )


def _kinds(findings: tuple[Finding, ...]) -> set[tuple[str, str, str]]:
    return {(str(f.kind), f.name, str(f.severity)) for f in findings}


# -- patterns --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("declared", "name", "matches"),
    [
        ("_ga", "_ga", True),
        ("_ga", "_ga_X1", False),
        ("_ga_*", "_ga_X1", True),
        ("_ga_*", "_ga", False),
        ("_ga_*", "_ga_", True),
        ("intercom-session-*", "intercom-session-abc", True),
        ("_hjSessionUser_*", "_hjSessionUser_123", True),
        ("_hjSessionUser_*", "x_hjSessionUser_123", False),
        ("a.b", "aXb", False),  # a dot is a dot, not any character
        ("*_id", "user_id", True),
        ("_GA", "_ga", False),  # cookie names are case-sensitive
    ],
)
def test_a_declared_name_matches_literally_with_star_for_any_characters(
    declared: str, name: str, matches: bool
) -> None:
    assert name_matches(declared, name) is matches


def test_an_exact_declared_name_wins_over_a_pattern_and_the_most_specific_pattern_over_a_wider_one() -> None:
    declared = (_cookie("_ga*"), _cookie("_ga_*"), _cookie("_ga"))
    assert match_declared("_ga", declared) is declared[2]
    assert match_declared("_ga_X", declared) is declared[1]
    assert match_declared("_gax", declared) is declared[0]
    assert match_declared("_gid", declared) is None


def test_known_names_give_a_guessed_category() -> None:
    assert guess("_ga") is not None and guess("_ga").category == CookieCategory.performance  # type: ignore[union-attr]
    assert guess("_gid").category == CookieCategory.performance  # type: ignore[union-attr]
    assert guess("_hjSession_1").category == CookieCategory.performance  # type: ignore[union-attr]
    assert guess("_fbp").category == CookieCategory.targeting  # type: ignore[union-attr]
    assert guess("_gcl_au").category == CookieCategory.targeting  # type: ignore[union-attr]
    assert guess("nobody_knows") is None


# -- the comparison --------------------------------------------------------------------------
def test_a_clean_scan_gives_no_violation_and_reports_declared_cookies_never_seen() -> None:
    declared = (_cookie("shop_session", "strictly_necessary"), _cookie("_ga"), _cookie("_gcl_au", "targeting"))
    observations = [
        _seen("shop_session", Phase.before_choice),
        _seen("shop_session", Phase.after_reject),
        _seen("shop_session", Phase.after_accept),
        _seen("_ga", Phase.after_accept),
    ]
    findings = compare(observations, declared)
    assert _kinds(findings) == {("never-seen", "_gcl_au", "notice")}


def test_non_necessary_cookies_before_the_choice_or_after_reject_all_are_violations() -> None:
    declared = (_cookie("_ga_*"), _cookie("prefs", "functional"), _cookie("sess", "strictly_necessary"))
    observations = [
        _seen("_ga_AB", Phase.before_choice),
        _seen("prefs", Phase.after_reject),
        _seen("sess", Phase.before_choice),
        _seen("sess", Phase.after_reject),
    ]
    findings = compare(observations, declared)
    assert _kinds(findings) == {
        ("before-consent", "_ga_AB", "violation"),
        ("after-reject", "prefs", "violation"),
    }
    [before] = [f for f in findings if f.kind == Kind.before_consent]
    assert before.declared_as == "_ga_*" and before.category == CookieCategory.performance
    assert not before.category_guessed
    assert before.message == "cookie _ga_AB (shop.example), performance, is set before any choice"


def test_an_undeclared_cookie_is_a_violation_and_a_known_tracker_name_also_counts_before_consent() -> None:
    findings = compare([_seen("mystery", Phase.after_accept), _seen("_fbp", Phase.before_choice)], ())
    assert _kinds(findings) == {
        ("undeclared", "mystery", "violation"),
        ("undeclared", "_fbp", "violation"),
        ("before-consent", "_fbp", "violation"),
    }
    fbp = next(f for f in findings if f.kind == Kind.undeclared and f.name == "_fbp")
    assert fbp.category == CookieCategory.targeting and fbp.category_guessed
    assert "looks like Meta (targeting)" in fbp.message


def test_local_storage_entries_are_held_against_the_same_declared_names() -> None:
    declared = (_cookie("cart", "strictly_necessary"),)
    observations = [
        _seen("cart", Phase.before_choice, storage=Storage.local_storage),
        _seen("trk", Phase.before_choice, storage=Storage.local_storage),
    ]
    [finding] = compare(observations, declared)
    assert (finding.kind, finding.storage, finding.name) == (Kind.undeclared, Storage.local_storage, "trk")
    assert finding.message.startswith("local-storage entry trk (shop.example) is not declared")


def test_a_missing_banner_is_a_violation_only_when_consent_is_needed() -> None:
    outcomes = [
        PhaseOutcome(Phase.before_choice, (SITE,), None),
        PhaseOutcome(Phase.after_reject, (SITE,), False),
        PhaseOutcome(Phase.after_accept, (SITE,), True),
    ]
    with_consent = compare([], (_cookie("_ga"),), outcomes)
    assert ("banner-not-found", "reject all", "violation") in _kinds(with_consent)
    only_necessary = compare([], (_cookie("sess", "strictly_necessary"),), outcomes)
    assert ("banner-not-found", "reject all", "notice") in _kinds(only_necessary)
    assert not any(f.name == "accept all" for f in only_necessary)


def test_findings_use_only_the_cookies_of_the_scanned_controller(nestit: Declaration) -> None:
    declared = nestit.cookies_of("nestit-group-ab")
    names = {c.name for c in declared}
    assert {"_ga", "_ga_*", "_gcl_au"} <= names
    findings = compare([_seen("_ga_XYZ", Phase.after_accept)], declared)
    assert not any(f.kind == Kind.undeclared for f in findings)


# -- durations -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "session"),
        (60.0, "PT1H"),
        (5 * 3600.0, "PT5H"),
        (DAY, "P1D"),
        (7 * DAY, "P7D"),
        (30 * DAY, "P1M"),
        (90 * DAY, "P3M"),
        (395 * DAY, "P1Y"),
        (730 * DAY, "P2Y"),
    ],
)
def test_a_lifetime_is_written_as_the_declaration_writes_durations(seconds: float | None, expected: str) -> None:
    assert duration_of(seconds) == expected


@given(st.floats(min_value=0, max_value=20 * 365 * DAY, allow_nan=False))
def test_a_drafted_duration_is_within_rounding_of_the_lifetime(seconds: float) -> None:
    period = Period.parse(duration_of(seconds))
    days = seconds / DAY
    approx = period.approx_days()
    if days < 1 / 24:
        assert approx == pytest.approx(1 / 24)  # anything shorter than an hour is drafted as an hour
    elif days < 1:
        assert abs(approx - days) <= 1 / 48 + 1e-9
    elif days < 28:
        assert abs(approx - days) <= 0.5 + 1e-9
    elif days < 360:
        assert abs(approx - days) <= 30.4375 / 2 + 1e-6
    else:
        assert abs(approx - days) <= max(365.25 / 2, 365.25 - days) + 1e-6


# -- the draft -------------------------------------------------------------------------------
def test_the_draft_has_one_valid_entry_per_undeclared_name_each_marked_review() -> None:
    observations = [
        _seen("_gid", Phase.before_choice, lifetime=DAY),
        _seen("mystery: id", Phase.after_accept, lifetime=40 * DAY),
        _seen("trk", Phase.before_choice, storage=Storage.local_storage),
        _seen("_ga", Phase.after_accept, lifetime=400 * DAY),
    ]
    findings = compare(observations, (_cookie("_ga"),))
    text = draft_yaml(SITE + "/", observations, findings, "shop.example")
    entries = yaml.safe_load(text)["cookies"]
    assert [e["name"] for e in entries] == ["_gid", "mystery: id", "trk"]
    for entry in entries:
        Cookie.model_validate(entry)
    gid, mystery, trk = entries
    assert (gid["provider"], gid["category"], gid["duration"], gid["first_party"]) == (
        "Google Analytics",
        "performance",
        "P1D",
        False,
    )
    assert (mystery["provider"], mystery["category"], mystery["duration"], mystery["first_party"]) == (
        "shop.example",
        "targeting",
        "P1M",
        True,
    )
    assert trk["duration"] == "session"
    entry_lines = [line for line in text.splitlines() if line.startswith("    category:")]
    assert entry_lines and all("# review" in line for line in entry_lines)
    assert "# a localStorage entry, set by https://shop.example/t.js" in text


def test_a_scan_with_nothing_undeclared_drafts_an_empty_list() -> None:
    text = draft_yaml(SITE, [_seen("_ga", Phase.after_accept)], compare([], (_cookie("_ga"),)), "shop.example")
    assert yaml.safe_load(text) == {"cookies": []}


# -- the report's JSON -----------------------------------------------------------------------
def test_the_json_report_has_phases_with_cookies_and_storage_then_findings_and_a_violation_count() -> None:
    observations = (
        _seen("_ga", Phase.before_choice, lifetime=400 * DAY),
        _seen("trk", Phase.before_choice, storage=Storage.local_storage),
    )
    outcomes = (
        PhaseOutcome(Phase.before_choice, (SITE + "/",), None),
        PhaseOutcome(Phase.after_reject, (SITE + "/",), True, errors=(SITE + "/x: net::ERR",)),
        PhaseOutcome(Phase.after_accept, (SITE + "/",), True, timed_out=True),
    )
    findings = compare(observations, (_cookie("_ga"),), outcomes)
    report = Report(SITE + "/", "shop", outcomes, observations, findings)
    data = json.loads(json.dumps(report.as_dict()))
    assert set(data) == {"url", "controller", "phases", "findings", "violations"}
    assert [p["phase"] for p in data["phases"]] == ["before-choice", "after-reject", "after-accept"]
    first = data["phases"][0]
    assert set(first) == {"phase", "pages", "choice_made", "errors", "timed_out", "cookies", "local_storage"}
    [cookie] = first["cookies"]
    assert cookie == {
        "phase": "before-choice",
        "storage": "cookie",
        "name": "_ga",
        "domain": "shop.example",
        "path": "/",
        "expires": 1000.0 + 400 * DAY,
        "duration": "P1Y",
        "http_only": False,
        "secure": False,
        "same_site": None,
        "set_by": SITE + "/t.js",
        "set_via": "script",
        "page": SITE + "/",
    }
    assert [s["name"] for s in first["local_storage"]] == ["trk"]
    assert data["phases"][1]["errors"] == [SITE + "/x: net::ERR"]
    assert data["phases"][2]["timed_out"] is True
    assert {f["kind"] for f in data["findings"]} == {"before-consent", "undeclared"}
    assert set(data["findings"][0]) == {
        "kind",
        "severity",
        "storage",
        "name",
        "domain",
        "phases",
        "category",
        "category_guessed",
        "declared_as",
        "set_by",
        "message",
    }
    assert data["violations"] == 2 == len(report.violations)
    assert all(f["severity"] == Severity.violation for f in data["findings"])


# -- the scanner's pure helpers --------------------------------------------------------------
def test_the_writer_is_the_first_http_frame_of_the_stack() -> None:
    stack = (
        "Error\n"
        "    at report (<anonymous>:4:33)\n"
        "    at HTMLDocument.set (<anonymous>:12:9)\n"
        "    at track (https://cdn.tracker.example:8443/t.js?v=2:1:120)\n"
        "    at https://shop.example/page.html:20:5"
    )
    assert script_from_stack(stack) == "https://cdn.tracker.example:8443/t.js?v=2"
    assert script_from_stack("Error\n    at https://shop.example/:3:7") == "https://shop.example/"
    assert script_from_stack("Error\n    at <anonymous>:1:1") is None


@pytest.mark.parametrize("url", ["shop.example", "ftp://shop.example/", "http://", "javascript:alert(1)", ""])
def test_a_url_that_is_not_an_absolute_http_address_is_refused(url: str) -> None:
    with pytest.raises(ValidationFailed, match="expected an absolute http:// or https:// address"):
        check_url(url)
