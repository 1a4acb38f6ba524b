"""The Danish, German, Finnish, French, Norwegian and Swedish catalogs translate every string a document can show."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from babel.messages.pofile import read_po

from dataright.declarations.notice.catalog import code_msgids, missing, required_msgids, template_msgids
from dataright.declarations.notice.categories import CATEGORY_LABELS
from dataright.declarations.notice.i18n import catalog_languages, catalog_path, translations
from dataright.declarations.notice.labels import TABLES
from dataright.declarations.taxonomy import fides_category_names

PLACEHOLDER = re.compile(r"%\(\w+\)s")


SHIPPED = ("da", "de", "fi", "fr", "nb", "sv")


def test_catalogs_exist_for_danish_german_finnish_french_norwegian_bokmal_and_swedish() -> None:
    assert catalog_languages() == SHIPPED


def test_extraction_finds_template_trans_blocks_labels_and_code_strings() -> None:
    templates = template_msgids()
    assert "Who we are" in templates  # {{ _("...") }}
    assert "You can unsubscribe via %(methods)s." in templates  # {% trans %} block, trimmed
    code = code_msgids()
    assert "Performance of a contract" in code  # N_() in labels
    assert "Time limits for erasure" in code  # the record's column labels
    assert set(CATEGORY_LABELS.values()) <= required_msgids()
    assert "User Contact Email" not in required_msgids()  # the taxonomy's raw names are no longer shown


def test_every_fideslang_category_has_a_readable_label() -> None:
    assert set(CATEGORY_LABELS) == set(fides_category_names())
    assert len(set(CATEGORY_LABELS.values())) == len(CATEGORY_LABELS), "two categories share a name"


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_msgid_has_a_real_translation(lang: str) -> None:
    assert missing(lang) == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_translations_keep_the_placeholders_of_their_msgid(lang: str) -> None:
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    wrong = [
        m.id
        for m in catalog
        if m.id and sorted(PLACEHOLDER.findall(str(m.id))) != sorted(PLACEHOLDER.findall(str(m.string)))
    ]
    assert wrong == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_catalogs_hold_no_stale_msgids(lang: str) -> None:
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    assert {str(m.id) for m in catalog if m.id} - required_msgids() == set()


def test_every_enum_member_has_a_label() -> None:
    for enum, table in TABLES.items():
        assert set(table) == set(enum), enum.__name__


def test_catalogs_are_compiled_in_memory_and_no_mo_file_is_shipped() -> None:
    assert translations("nb").gettext("Privacy notice") == "Personvernerklæring"
    assert translations("sv").gettext("Privacy notice") == "Integritetspolicy"
    assert translations("en").gettext("Privacy notice") == "Privacy notice"
    locale = resources.files("dataright.declarations.notice").joinpath("locale")
    shipped = [p.name for lang in SHIPPED for p in locale.joinpath(lang, "LC_MESSAGES").iterdir()]
    assert shipped == ["notice.po"] * len(SHIPPED)


@pytest.mark.parametrize("lang", SHIPPED)
def test_no_catalog_entry_is_fuzzy(lang: str) -> None:
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    assert not catalog.fuzzy
    assert [m.id for m in catalog if m.id and m.fuzzy] == []


def test_a_catalog_lacking_one_translation_is_reported_incomplete(tmp_path, monkeypatch) -> None:
    # The completeness check can fail: drop one entry from the German catalog and it names that msgid.
    with catalog_path("de").open("rb") as handle:
        text = handle.read().decode("utf-8")
    start = text.index('msgid "Who we are"')
    end = text.index("\n\n", start)
    shortened = tmp_path / "notice.po"
    shortened.write_text(text[:start] + text[end + 2 :], encoding="utf-8")
    from dataright.declarations.catalogs import MessageCatalog

    monkeypatch.setattr(MessageCatalog, "catalog_path", lambda self, lang: shortened)
    assert missing("de") == ["Who we are"]
