"""Message catalogs of the generated documents (the notice and the Art. 30 record).

English is the source language: msgids are the English text. Norwegian bokmål and Swedish live in
``locale/<lang>/LC_MESSAGES/notice.po``, loaded through the shared ``MessageCatalog`` (compiled in memory
the first time a language is asked for, and cached).
"""

from __future__ import annotations

from importlib.resources.abc import Traversable

from babel.support import NullTranslations

from dataright.declarations.catalogs import N_, SOURCE_LANGUAGE, MessageCatalog

DOMAIN = "notice"

__all__ = [
    "CATALOG",
    "DOMAIN",
    "N_",
    "SOURCE_LANGUAGE",
    "catalog_languages",
    "catalog_path",
    "gettext",
    "translations",
]


CATALOG = MessageCatalog(
    package=__package__ or "dataright.declarations.notice",
    domain=DOMAIN,
    python_packages=("dataright.declarations.notice", "dataright.declarations.ropa"),
    template_package="dataright.declarations.notice",
)


def catalog_path(lang: str) -> Traversable:
    return CATALOG.catalog_path(lang)


def catalog_languages() -> tuple[str, ...]:
    """The languages with a catalog (the source language needs none)."""
    return CATALOG.languages()


def translations(lang: str) -> NullTranslations:
    """The translations for ``lang``; the source language translates to itself."""
    return CATALOG.translations(lang)


def gettext(lang: str, message: str) -> str:
    return CATALOG.gettext(lang, message)
