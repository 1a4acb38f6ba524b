"""Locale-aware wording and the CommonMark escaping of declared text."""

from __future__ import annotations

from datetime import date

import pytest

from dataright.declarations.notice.render import html_href, md_code, md_escape, md_link
from dataright.declarations.notice.words import country, duration, join, localized, long_date
from dataright.declarations.periods import Period
from dataright.declarations.schema import Text


@pytest.mark.parametrize(
    ("period", "lang", "words"),
    [
        ("P6M", "nb", "6 måneder"),
        ("P6M", "sv", "6 månader"),
        ("P1M", "en", "1 month"),
        ("P5Y", "nb", "5 år"),
        ("P1Y6M", "en", "1 year and 6 months"),
        ("P2W", "sv", "2 veckor"),
        ("PT72H", "nb", "72 timer"),
    ],
)
def test_durations_are_written_in_words(period: str, lang: str, words: str) -> None:
    assert duration(Period.parse(period), lang) == words


@pytest.mark.parametrize(
    ("code", "lang", "name"), [("MA", "nb", "Marokko"), ("MA", "sv", "Marocko"), ("US", "en", "United States")]
)
def test_country_names_are_localised(code: str, lang: str, name: str) -> None:
    assert country(code, lang) == name


def test_lists_and_dates_follow_the_language() -> None:
    assert join(["a", "b", "c"], "nb", "or") == "a, b eller c"
    assert join(["a", "b"], "sv") == "a och b"
    assert join([], "en") == ""
    assert long_date(date(2024, 7, 30), "nb") == "30. juli 2024"


def test_localised_text_falls_back_to_the_default_language_then_english() -> None:
    assert localized({"en": "Hello", "nb": "Hei"}, "nb") == "Hei"
    assert localized({"en": "Hello", "nb": "Hei"}, "sv", "nb") == "Hei"
    assert localized({"en": "Hello"}, "sv", "nb") == "Hello"
    assert localized(None, "en") == ""


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("*a* _b_", r"\*a\* \_b\_"),
        ("[x](y)", r"\[x\](y)"),
        ("a | b", r"a \| b"),
        ("<b>", r"\<b\>"),
        ("&amp; R&D", r"\&amp; R&D"),
        ("30. juli", r"30\. juli"),
        ("- item", r"\- item"),
        ("# title", r"\# title"),
        ("two\nlines", "two lines"),
    ],
)
def test_markdown_escaping(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def test_code_spans_hold_backticks_and_pipes() -> None:
    assert md_code("_ga") == "`_ga`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("a|b") == r"`a\|b`"


def test_links_become_autolinks_only_for_urls_and_addresses() -> None:
    assert md_link("https://www.imy.se") == "<https://www.imy.se>"
    assert md_link("post@nexalearn.no") == "<post@nexalearn.no>"
    assert md_link("call *us*") == r"call \*us\*"
    assert html_href("post@nexalearn.no") == "mailto:post@nexalearn.no"
    assert html_href("www.imy.se") == "https://www.imy.se"
    assert html_href("https://www.imy.se") == "https://www.imy.se"


@pytest.mark.parametrize(
    ("period", "lang", "words"),
    [("P30D", "nb", "30 dager"), ("P30D", "sv", "30 dagar"), ("P7D", "nb", "7 dager"), ("P1D", "sv", "1 dag")],
)
def test_a_legal_period_of_days_is_dager_and_dagar_not_dogn_or_dygn(period: str, lang: str, words: str) -> None:
    assert duration(Period.parse(period), lang) == words


@pytest.mark.parametrize(
    ("period", "lang", "words"),
    [
        ("P2M", "nb", "to måneder"),
        ("P1M", "nb", "én måned"),
        ("P1Y", "nb", "ett år"),
        ("P2M", "sv", "två månader"),
        ("P1M", "sv", "en månad"),
        ("P1M", "en", "one month"),
        ("P1M", "de", "einen Monat"),
        ("P2M", "da", "to måneder"),
        ("P2M", "fi", "kaksi kuukautta"),
        ("P1M", "fr", "un\xa0mois"),
        ("P30D", "nb", "30 dager"),
    ],
)
def test_small_numbers_are_words_in_prose(period: str, lang: str, words: str) -> None:
    assert duration(Period.parse(period), lang, words=True) == words


def test_a_plain_name_is_the_same_in_every_language_and_a_language_map_overrides_it() -> None:
    from dataright.declarations.schema import System

    plain = System.model_validate(
        {
            "id": "s",
            "name": "Stripe",
            "role": "processor",
            "description": {"en": "x"},
            "processing_countries": ["IE"],
            "storage_countries": ["IE"],
        }
    )
    mapped = plain.model_copy(
        update={"name": Text("Shipping providers", {"en": "Shipping providers", "sv": "Fraktbolag"})}
    )
    assert localized(plain.name, "sv") == "Stripe" and plain.name == "Stripe"
    assert localized(mapped.name, "sv") == "Fraktbolag" and localized(mapped.name, "nb", "sv") == "Fraktbolag"
    assert localized(mapped.name, "de") == "Shipping providers"
    again = System.model_validate(mapped.model_dump())
    assert again.name.translations == {"en": "Shipping providers", "sv": "Fraktbolag"}
