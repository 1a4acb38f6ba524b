"""The banner's configuration is generated from the declaration: categories, cookie tables, texts, revision,
expiry and Google Consent Mode; and the declaration's ``cookie_banner`` block is checked at file:line."""

from __future__ import annotations

import gzip
import json
import shutil
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from dataright.cookies.banner import (
    DEFAULT_EXPIRY_DAYS,
    banner_config,
    banner_css,
    banner_script,
    expiry_days,
    revision_of,
    vendor_version,
)
from dataright.cookies.texts import CATALOG
from dataright.declarations.loader import load
from dataright.declarations.schema import ConsentSettings, CookieBanner, Declaration
from dataright.errors import DeclarationInvalid, NotFound

SIZE_LIMIT = 40 * 1024


def edit(declaration: Declaration, **update: Any) -> Declaration:
    """A copy with some sections replaced (and no lookups cached from the original)."""
    copy = declaration.model_copy(update=update)
    for name in [k for k, v in vars(Declaration).items() if isinstance(v, cached_property)]:
        copy.__dict__.pop(name, None)
    return copy


def cc(declaration: Declaration, controller: str) -> dict[str, Any]:
    options: dict[str, Any] = banner_config(declaration, controller).options["cookieconsent"]
    return options


def sections(declaration: Declaration, controller: str, lang: str) -> dict[str, dict[str, Any]]:
    translation = cc(declaration, controller)["language"]["translations"][lang]
    return {s.get("linkedCategory", s["title"]): s for s in translation["preferencesModal"]["sections"]}


# -- categories and cookie tables ------------------------------------------------------------------
def test_necessary_is_read_only_and_on_and_nothing_else_is_preselected(nestit: Declaration) -> None:
    categories = cc(nestit, "nestit-group-ab")["categories"]
    assert list(categories) == ["strictly_necessary", "performance", "targeting"]
    assert categories["strictly_necessary"] == {"enabled": True, "readOnly": True}
    assert all(not c["enabled"] and not c.get("readOnly") for k, c in categories.items() if k != "strictly_necessary")


def test_only_categories_the_controller_declares_cookies_in_are_offered(nexalearn: Declaration) -> None:
    assert list(cc(nexalearn, "nexalearn")["categories"]) == ["strictly_necessary", "functional", "performance"]


def test_withdrawing_a_category_clears_its_cookies_including_wildcard_names(nestit: Declaration) -> None:
    clear = cc(nestit, "nestit-group-ab")["categories"]["performance"]["autoClear"]["cookies"]
    assert {"name": "_ga"} in clear
    assert {"regex": "^_ga_.*$"} in clear


def test_each_category_lists_its_cookies_in_the_visitors_language(nexalearn: Declaration) -> None:
    performance = sections(nexalearn, "nexalearn", "nb")["performance"]
    table = performance["cookieTable"]
    assert table["headers"] == {"name": "Navn", "provider": "Leverandør", "duration": "Varighet", "purpose": "Formål"}
    ga = next(row for row in table["body"] if row["name"] == "_ga")
    assert ga == {
        "name": "_ga",
        "provider": "Google Analytics",
        "duration": "2 år",
        "purpose": "Skiller besøkende fra hverandre for anonymisert statistikk.",
    }
    assert "Brukes til:" in performance["description"]  # the purposes the category serves


def test_declaration_text_is_escaped_before_the_banner_shows_it_as_html(nexalearn: Declaration) -> None:
    [cookie] = [c for c in nexalearn.cookies if c.name == "_ga"]
    hostile = cookie.model_copy(update={"purpose": {"en": "<img src=x onerror=alert(1)>"}})
    changed = edit(nexalearn, **{"cookies": (*[c for c in nexalearn.cookies if c.name != "_ga"], hostile)})
    row = next(
        r for r in sections(changed, "nexalearn", "en")["performance"]["cookieTable"]["body"] if r["name"] == "_ga"
    )
    assert row["purpose"] == "&lt;img src=x onerror=alert(1)&gt;"


# -- texts, languages, buttons -----------------------------------------------------------------------
def test_the_banner_speaks_every_language_the_controller_publishes_in(nestit: Declaration) -> None:
    language = cc(nestit, "nestit-group-ab")["language"]
    assert language["default"] == "sv"
    assert set(language["translations"]) == {"sv", "en"}
    assert language["translations"]["sv"]["consentModal"]["title"] == "Vi använder kakor"
    provendo = cc(nestit, "provendo-as")["language"]
    assert (provendo["default"], set(provendo["translations"])) == ("nb", {"nb", "en"})


def test_reject_all_is_as_prominent_as_accept_all(nestpros: Declaration) -> None:
    options = cc(nestpros, "nestpros")
    first_layer = options["language"]["translations"]["en"]["consentModal"]
    assert (first_layer["acceptAllBtn"], first_layer["acceptNecessaryBtn"]) == ("Accept all", "Reject all")
    assert options["guiOptions"]["consentModal"]["equalWeightButtons"] is True
    assert options["guiOptions"]["preferencesModal"]["equalWeightButtons"] is True


def test_the_notice_is_linked(nestit: Declaration) -> None:
    footer = cc(nestit, "nestit-group-ab")["language"]["translations"]["en"]["consentModal"]["footer"]
    assert 'href="https://nestitgroup.com/privacy-policy/"' in footer


def test_a_session_cookie_and_a_period_read_naturally_in_each_language(nestit: Declaration) -> None:
    rows = {
        lang: {
            r["name"]: r["duration"]
            for s in sections(nestit, "nestit-group-ab", lang).values()
            for r in s.get("cookieTable", {}).get("body", [])
        }
        for lang in ("sv", "en")
    }
    assert rows["sv"]["nestit_session"] == "Tills du stänger webbläsaren"
    assert rows["en"]["nestit_session"] == "Until you close the browser"
    assert rows["en"]["_gcl_au"] == "90 days"
    assert rows["sv"]["_ga"] == "2 år"


def test_every_banner_text_is_translated_to_norwegian_and_swedish() -> None:
    assert CATALOG.languages() == ("nb", "sv")
    assert {lang: CATALOG.missing(lang) for lang in CATALOG.languages()} == {"nb": [], "sv": []}


# -- revision and expiry ---------------------------------------------------------------------------
def test_the_revision_follows_the_declaration(nexalearn: Declaration) -> None:
    before = revision_of(nexalearn, "nexalearn")
    assert before == revision_of(nexalearn, "nexalearn")
    [cookie] = [c for c in nexalearn.cookies if c.name == "_ga"]
    longer = cookie.model_copy(update={"duration": "P3Y"})
    changed = edit(nexalearn, **{"cookies": tuple(longer if c is cookie else c for c in nexalearn.cookies)})
    assert revision_of(changed, "nexalearn") != before
    moved = edit(nexalearn, **{"cookie_banner": CookieBanner(cookie_name="nexalearn_cookie_consent")})
    assert revision_of(moved, "nexalearn") != before
    assert banner_config(nexalearn, "nexalearn").options["cookieconsent"]["revision"] == int(before, 16)


def test_a_choice_lasts_the_shortest_consent_lifetime_of_the_purposes_behind_the_cookies(
    nexalearn: Declaration,
) -> None:
    assert expiry_days(nexalearn, "nexalearn") in range(364, 367)  # P12M
    assert cc(nexalearn, "nexalearn")["cookie"] == {
        "name": "nexalearn_cookie_consent",
        "expiresAfterDays": expiry_days(nexalearn, "nexalearn"),
    }
    purposes = tuple(
        p.model_copy(update={"consent": ConsentSettings(lifetime="P6M")}) if p.id == "analytics" else p  # type: ignore[arg-type]
        for p in nexalearn.purposes
    )
    shorter = edit(nexalearn, purposes=purposes)
    assert expiry_days(shorter, "nexalearn") in range(181, 185)
    forever = edit(nexalearn, purposes=tuple(p.model_copy(update={"consent": None}) for p in nexalearn.purposes))
    assert expiry_days(forever, "nexalearn") == DEFAULT_EXPIRY_DAYS


def test_an_unknown_controller_is_not_found(nexalearn: Declaration) -> None:
    with pytest.raises(NotFound):
        banner_config(nexalearn, "nobody")


# -- Google Consent Mode ---------------------------------------------------------------------------
def test_consent_mode_uses_the_default_mapping_for_the_categories_on_offer(nestit: Declaration) -> None:
    mode = banner_config(nestit, "nestit-group-ab").options["consentMode"]
    assert mode["signals"] == {
        "performance": ["analytics_storage"],
        "targeting": ["ad_storage", "ad_user_data", "ad_personalization"],
    }
    assert mode["denied"] == ["ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"]


def test_the_declaration_can_map_categories_to_other_signals(nexalearn: Declaration) -> None:
    banner = CookieBanner(
        cookie_name="nexalearn_cookie_consent",
        google_consent_mode=True,
        consent_mode={"functional": ["functionality_storage"]},  # type: ignore[dict-item]
    )
    mode = banner_config(edit(nexalearn, **{"cookie_banner": banner}), "nexalearn").options["consentMode"]
    assert mode["signals"]["functional"] == ["functionality_storage"]
    assert mode["signals"]["performance"] == ["analytics_storage"]
    assert "functionality_storage" in mode["denied"]


def test_a_site_without_google_gets_no_consent_mode(nexalearn: Declaration) -> None:
    banner = CookieBanner(cookie_name="nexalearn_cookie_consent", google_consent_mode=False)
    config = banner_config(edit(nexalearn, **{"cookie_banner": banner}), "nexalearn")
    assert config.options["consentMode"] is None
    data = json.loads(banner_script(config).split("window.__datarightBanner=", 1)[1].split(";\n", 1)[0])
    assert data["consentMode"] is None


# -- the script ---------------------------------------------------------------------------------------
def test_the_script_carries_the_config_before_the_library_and_no_closing_script_tag(nestit: Declaration) -> None:
    script = banner_script(banner_config(nestit, "nestit-group-ab"))
    assert script.index("window.__datarightBanner=") < script.index("* CookieConsent " + vendor_version())
    assert "</script" not in script.split("window.__datarightBanner=", 1)[1].split(";\n", 1)[0]


def test_script_config_and_css_stay_under_40_kb_gzipped(example: Any) -> None:
    declaration = example.declaration
    for controller in declaration.controllers:
        script = banner_script(banner_config(declaration, controller.id)).encode()
        css = banner_css().encode()
        js_gz, css_gz = len(gzip.compress(script, 9)), len(gzip.compress(css, 9))
        print(
            f"banner {controller.id}: script+config {len(script)} B ({js_gz} B gzipped), css {len(css)} B "
            f"({css_gz} B gzipped), together {js_gz + css_gz} B gzipped (limit {SIZE_LIMIT} B)"
        )
        assert js_gz + css_gz < SIZE_LIMIT


# -- the declaration's cookie_banner block --------------------------------------------------------------
def _copy(examples_dir: Path, tmp_path: Path, name: str = "nexalearn") -> Path:
    target = tmp_path / name
    shutil.copytree(examples_dir / name, target)
    return target


def test_an_unknown_consent_mode_signal_is_named_at_its_file_line(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    cookies = root / "cookies.yaml"
    text = cookies.read_text(encoding="utf-8") + "  consent_mode:\n    performance: [analytics_storag]\n"
    cookies.write_text(text, encoding="utf-8")
    with pytest.raises(DeclarationInvalid) as caught:
        load(root)
    [problem] = caught.value.problems
    assert problem.file.endswith("cookies.yaml")
    assert problem.line == len(text.splitlines())
    assert problem.path == "cookie_banner.consent_mode.performance[0]"
    assert "did you mean 'analytics_storage'" in problem.message


def test_the_banner_cookie_must_be_a_declared_strictly_necessary_cookie(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    cookies = root / "cookies.yaml"
    text = cookies.read_text(encoding="utf-8").replace("cookie_name: nexalearn_cookie_consent", "cookie_name: cc_x")
    cookies.write_text(text, encoding="utf-8")
    with pytest.raises(DeclarationInvalid) as caught:
        load(root)
    [problem] = caught.value.problems
    assert problem.path == "cookie_banner.cookie_name"
    assert problem.line == next(i for i, ln in enumerate(text.splitlines(), 1) if "cookie_name: cc_x" in ln)
    assert "'cc_x' is not declared under cookies" in problem.message
