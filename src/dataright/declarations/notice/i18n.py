"""Message catalogs of the generated documents.

English is the source language: msgids are the English text. Norwegian bokmål and Swedish live in
``locale/<lang>/LC_MESSAGES/notice.po``. Compiled ``.mo`` files are not kept in the repository: a
catalog is compiled in memory the first time a language is asked for, and cached.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "notice"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction without translating it here (it is translated where it is shown)."""
    return message


def catalog_path(lang: str) -> Traversable:
    return resources.files(__package__).joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")


def catalog_languages() -> tuple[str, ...]:
    """The languages with a catalog (the source language needs none)."""
    root = resources.files(__package__).joinpath("locale")
    return tuple(
        sorted(entry.name for entry in root.iterdir() if entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file())
    )


@cache
def translations(lang: str) -> NullTranslations:
    """The translations for ``lang``; the source language translates to itself."""
    if lang == SOURCE_LANGUAGE:
        return NullTranslations()
    po = catalog_path(lang)
    if not po.is_file():
        raise LookupError(f"no {DOMAIN} catalog for language {lang!r}")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)
