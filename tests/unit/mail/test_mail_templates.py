"""Every e-mail template renders in en, nb and sv from the mail catalog, and a bad context is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dataright.errors import ValidationFailed
from dataright.mail.i18n import CATALOG
from dataright.mail.render import LANGUAGES, REQUEST_STATUSES, REQUEST_TYPES, TEMPLATES, format_when, render
from fixtures.mail_contexts import CONTEXTS

# A phrase of each language that every message carries (the greeting), and English words that must not leak.
GREETING = {"en": "Hello,", "nb": "Hei,", "sv": "Hej,"}
ENGLISH = re.compile(r"\b(your|request for|the law|we will|kept under|kind regards|due)\b", re.IGNORECASE)


def test_every_template_has_a_context_here() -> None:
    assert set(CONTEXTS) == set(TEMPLATES)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_template_renders_text_and_html_in_each_language(template: str, lang: str) -> None:
    mail = render(template, lang, CONTEXTS[template])
    assert mail.text.startswith(GREETING[lang])
    assert f'<html lang="{lang}">' in mail.html
    assert mail.subject and "\n" not in mail.subject
    if lang != "en":
        assert not ENGLISH.search(mail.subject), mail.subject
        assert not ENGLISH.search(mail.text), mail.text


def test_dates_are_written_in_the_language_of_the_message() -> None:
    context = CONTEXTS["request_received"]
    assert "March 2, 2026" in render("request_received", "en", context).text
    assert "2. mars 2026" in render("request_received", "nb", context).text
    assert "2 mars 2026" in render("request_received", "sv", context).text
    assert format_when("2026-03-29T02:30:00+02:00", "nb") == "29. mars 2026 02:30 (UTC+02:00)"


def test_the_promised_deadline_is_shown_beside_the_statutory_one_only_when_there_is_one() -> None:
    with_promise = render("request_received", "en", CONTEXTS["request_received"]).text
    without = render("request_received", "en", {**CONTEXTS["request_received"], "promised_deadline": ""}).text
    assert "we have promised to answer by" in with_promise
    assert "This is the deadline the law sets." in without


def test_request_types_and_statuses_are_translated() -> None:
    for request_type in REQUEST_TYPES:
        text = render("request_received", "sv", {**CONTEXTS["request_received"], "request_type": request_type}).text
        assert CATALOG.gettext("sv", REQUEST_TYPES[request_type]) in text
    reminder = render("request_reminder", "nb", CONTEXTS["request_reminder"]).text
    assert CATALOG.gettext("nb", REQUEST_STATUSES["overdue"]) in reminder
    assert "over fristen" in reminder


def test_html_escapes_what_the_caller_gives() -> None:
    mail = render("request_extended", "en", {**CONTEXTS["request_extended"], "reason": "<script>x</script>"})
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "<script>x</script>" in mail.text


def test_the_completion_message_lists_what_is_kept_and_under_which_law() -> None:
    text = render("request_completed", "nb", CONTEXTS["request_completed"]).text
    assert "ITEM-WHAT, oppbevares etter bokføringsloven § 13 til 31. desember 2031" in text
    assert "https://privacy.nestit.example/download/xyz" in text


@pytest.mark.parametrize("lang", ["nb", "sv"])
def test_the_mail_catalog_translates_every_message(lang: str) -> None:
    assert CATALOG.missing(lang) == []


def test_an_untranslated_message_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    required = CATALOG.required_msgids()
    monkeypatch.setattr(type(CATALOG), "required_msgids", lambda self: {*required, "A sentence nobody translated."})
    assert CATALOG.missing("nb") == ["A sentence nobody translated."]


@pytest.mark.parametrize(
    ("template", "change", "expected"),
    [
        ("no_such_template", {}, "unknown mail template 'no_such_template'"),
        ("request_received", {"deadline": None}, "context key 'deadline' is empty"),
        ("request_received", {"request_type": "complaint"}, "'complaint', not a request type"),
        ("request_received", {"deadline": "02.03.2026"}, "'deadline' must be an ISO date"),
        ("request_received", {"colour": "red"}, "unknown context key(s) colour"),
        ("request_reminder", {"due": [{"request_reference": "R", "deadline": "2026-01-01", "status": "x"}]}, "due[0]"),
        ("request_completed", {"kept_items": [{"what": "x"}]}, "kept_items[0]: missing context key(s) law, until"),
    ],
)
def test_a_bad_context_is_refused_with_the_key_named(template: str, change: dict[str, Any], expected: str) -> None:
    context = {**CONTEXTS.get(template, {}), **change}
    with pytest.raises(ValidationFailed) as caught:
        render(template, "en", context)
    assert expected in str(caught.value)


def test_a_missing_key_is_named() -> None:
    context = dict(CONTEXTS["request_verification"])
    del context["code"]
    with pytest.raises(ValidationFailed, match=r"missing context key\(s\) code"):
        render("request_verification", "nb", context)


def test_an_unsupported_language_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="unsupported mail language 'de'"):
        render("request_verification", "de", CONTEXTS["request_verification"])
