"""Notices in Norwegian and Swedish are wholly in that language; bad requests get clear errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from markdown_it import MarkdownIt

from dataright.declarations.notice import render_notice
from dataright.declarations.notice.catalog import template_msgids
from dataright.declarations.notice.labels import TABLES
from dataright.declarations.schema import Declaration
from dataright.errors import NotFound, ValidationFailed

Shown = Callable[[str, str], str]

# Headings and sentences a reader would spot at once if the catalog were not applied.
KNOWN_ENGLISH = (
    "Privacy notice",
    "Who we are",
    "What personal data we collect",
    "Why we process your personal data",
    "Who receives your personal data",
    "Transfers to other countries",
    "How long we keep your personal data",
    "Your rights",
    "How to exercise your rights",
    "Withdrawing consent and objecting",
    "Messages we send you",
    "Changes to this notice",
    "Legal basis",
    "Until you close the browser",
    "Performance of a contract",
    "Right of access",
    "is the controller responsible for",
)


def _template_fragments() -> list[str]:
    """The English text of every template msgid, cut at its placeholders, keeping pieces of four words or more."""
    pieces = (piece.strip(" .,:;()") for msgid in template_msgids() for piece in re.split(r"%\(\w+\)s", msgid))
    return sorted({p for p in pieces if len(p.split()) >= 4})


def _non_english_notices(d: Declaration) -> list[tuple[str, str]]:
    return [(c.id, lang) for c in d.controllers for lang in c.languages if lang != "en"]


def test_there_are_template_sentences_to_look_for() -> None:
    assert len(_template_fragments()) > 40


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_norwegian_and_swedish_notices_contain_no_english_template_text(example, shown: Shown, fmt: str) -> None:
    d = example.declaration
    fragments = [*KNOWN_ENGLISH, *_template_fragments()]
    for controller_id, lang in _non_english_notices(d):
        text = shown(render_notice(d, controller_id, lang, fmt), fmt)
        leaked = [f for f in fragments if f in text]
        assert not leaked, f"{controller_id} {lang} {fmt}: English template text {leaked}"


def test_norwegian_and_swedish_notices_use_translated_enum_labels(nexalearn: Declaration, nestit: Declaration) -> None:
    for d in (nexalearn, nestit):
        for controller_id, lang in _non_english_notices(d):
            text = render_notice(d, controller_id, lang, "html")
            for table in TABLES.values():
                english = {e for e in table.values() if len(e) > 12}
                leaked = [e for e in english if f">{e}<" in text or f": {e}." in text]
                assert not leaked, f"{controller_id} {lang}: {leaked}"


def test_a_swedish_notice_reads_in_swedish(nestit: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nestit, "nestit-group-ab", "sv", "md"), "md")
    assert text.startswith("Integritetspolicy: NestIT Group")
    assert "Vilka vi är" in text and "Dina rättigheter" in text
    assert "Integritetsskyddsmyndigheten (IMY)" in text


def test_fideslang_category_names_are_translated(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "Fødselsdato" in text and "IP-adresse" in text
    assert "Birth Date" not in text and "IP Address" not in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_category_names_are_readable_in_english(
    nestpros: Declaration, nexalearn: Declaration, shown: Shown, fmt: str
) -> None:
    text = shown(render_notice(nestpros, "nestpros", "en", fmt), fmt)
    assert "E-mail address" in text and "Approximate location" in text and "Password" in text
    for raw in ("User Contact Email", "Imprecise Subject Location", "Account password", "User Contact Phone Number"):
        assert raw not in text
    assert "Postal address" in shown(render_notice(nexalearn, "nexalearn", "en", fmt), fmt)


def test_custom_categories_use_their_own_localised_names(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "Navn på foresatt" in text and "Betalingsstatus og transaksjonsdetaljer" in text


def test_html_is_a_standalone_page_in_the_notice_language(nexalearn: Declaration) -> None:
    page = render_notice(nexalearn, "nexalearn", "nb", "html")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="nb">' in page
    assert "<title>Personvernerklæring: NexaLearn</title>" in page
    assert "<style>" in page and "<table>" in page
    assert page.rstrip().endswith("</html>")


def test_markdown_has_tables_for_cookies_and_retention(nexalearn: Declaration) -> None:
    text = render_notice(nexalearn, "nexalearn", "en", "md")
    assert "| Name | Provider | Category | Duration | Purpose |" in text
    assert "| Rule | Period | Counted from | Afterwards the data is |" in text
    assert "| `_ga` | Google Analytics (third party) |" in text


def _with_hostile_purpose_name(d: Declaration, name: str) -> Declaration:
    first = d.purposes[0].model_copy(update={"name": {"en": name, "nb": name}})
    return d.model_copy(update={"purposes": (first, *d.purposes[1:])})


def test_html_escapes_declared_text(nexalearn: Declaration) -> None:
    d = _with_hostile_purpose_name(nexalearn, "<script>alert(1)</script> & co")
    page = render_notice(d, "nexalearn", "en", "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_markdown_shows_declared_text_literally(nexalearn: Declaration, shown: Shown) -> None:
    name = "*Not bold* _nor_ [a link](x) | <b>tag</b> 1. &amp;"
    d = _with_hostile_purpose_name(nexalearn, name)
    text = render_notice(d, "nexalearn", "en", "md")
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<em>" not in html and '<a href="x"' not in html and "<b>" not in html
    assert name in shown(text, "md")


def test_an_unknown_controller_is_refused_with_the_known_ones(nestit: Declaration) -> None:
    with pytest.raises(
        NotFound, match=r"unknown controller 'nestit'; this declaration has: nestit-group-ab, provendo-as"
    ):
        render_notice(nestit, "nestit", "sv", "md")


def test_a_language_the_controller_does_not_publish_in_is_refused(nexalearn: Declaration) -> None:
    with pytest.raises(ValidationFailed, match=r"'nexalearn' does not publish in 'sv'; its languages are: nb, en"):
        render_notice(nexalearn, "nexalearn", "sv", "html")


def test_an_unknown_format_is_refused(nexalearn: Declaration) -> None:
    with pytest.raises(ValueError, match="unknown notice format 'pdf'"):
        render_notice(nexalearn, "nexalearn", "en", "pdf")  # type: ignore[arg-type]


def test_system_names_references_and_addresses_are_in_the_notice_language(nestit: Declaration, shown: Shown) -> None:
    sv = shown(render_notice(nestit, "nestit-group-ab", "sv", "md"), "md")
    assert "Frakt- och leveransföretag" in sv and "Shipping and delivery providers" not in sv
    assert "kommissionens genomförandebeslut (EU) 2021/914, modul 1" in sv
    assert "Avtal mellan bolagen i NestIT Group om ansvarsfördelningen" in sv
    assert "Stockholm, Sverige" in sv and "Sweden" not in sv
    en = shown(render_notice(nestit, "nestit-group-ab", "en", "md"), "md")
    assert "Shipping and delivery providers" in en and "Stockholm, Sweden" in en


def test_legal_citations_follow_the_local_style(nexalearn: Declaration, nestit: Declaration, shown: Shown) -> None:
    nb = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "Oppfyllelse av en avtale (personvernforordningen artikkel 6 nr. 1 bokstav b)" in nb
    assert "(personvernforordningen artikkel 12 nr. 3)" in nb and "GDPR Art." not in nb
    sv = shown(render_notice(nestit, "nestit-group-ab", "sv", "md"), "md")
    assert "(artikel 6.1 b i dataskyddsförordningen)" in sv and "(artikel 12.3 i dataskyddsförordningen)" in sv
    assert "GDPR Art." not in sv
    en = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "(GDPR Art. 6(1)(b))" in en and "(GDPR Art. 12(3))" in en


def test_periods_read_naturally_in_prose_and_tables(nexalearn: Declaration, nestit: Declaration, shown: Shown) -> None:
    nb = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "senest innen 30 dager" in nb and "døgn" not in nb
    sv = shown(render_notice(nestit, "nestit-group-ab", "sv", "md"), "md")
    assert "senast inom 30 dagar" in sv and "dygn" not in sv
    assert "ytterligare en månad" in sv and "inom en månad" in sv and "1 månad;" not in sv
    assert "90 dagar" in sv  # the _gcl_au cookie, in the table
