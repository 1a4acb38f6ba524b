"""Gettext message catalogs kept as ``.po`` files inside a package, shared by every generated text.

English is the source language: msgids are the English text. Each catalog lives at
``<package>/locale/<lang>/LC_MESSAGES/<domain>.po``; compiled ``.mo`` files are not kept in the
repository: a catalog is compiled in memory the first time a language is asked for, and cached.

A ``MessageCatalog`` also knows which msgids its package uses, found the way ``pybabel extract``
finds them (Jinja2's Babel extractor for ``*.j2`` templates, Babel's Python extractor with ``_`` and
the ``N_`` marker for modules), so a test can check that every catalog covers them and no English
reaches a Norwegian or Swedish text. The notice and the Art. 30 record use the ``notice`` catalog,
e-mails the ``mail`` catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from io import BytesIO

from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SOURCE_LANGUAGE = "en"
KEYWORDS = {"_": None, "N_": None}
# A {% trans %} block compiles to a gettext() call, which is how the Jinja2 extractor reports it.
TEMPLATE_KEYWORDS = {**KEYWORDS, "gettext": None}


SAME_AS_SOURCE = "same in this language"
"""The translator comment (``# same in this language``) on a translation that is spelled like its msgid."""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction without translating it here (it is translated where it is shown)."""
    return message


def _ids(found: Iterator[tuple[int, str | tuple[str, ...], list[str], str | None]]) -> Iterator[str]:
    for _lineno, message, _comments, _context in found:
        yield message if isinstance(message, str) else message[0]


@dataclass(frozen=True, eq=False)
class MessageCatalog:
    """One gettext domain: where its catalogs are, and which msgids its code and templates use."""

    package: str
    domain: str
    python_packages: tuple[str, ...] = ()
    template_package: str | None = None
    extra_msgids: Callable[[], set[str]] | None = None
    _compiled: dict[str, NullTranslations] = field(default_factory=dict, repr=False)

    def catalog_path(self, lang: str) -> Traversable:
        return resources.files(self.package).joinpath("locale", lang, "LC_MESSAGES", f"{self.domain}.po")

    def languages(self) -> tuple[str, ...]:
        """The languages with a catalog (the source language needs none)."""
        root = resources.files(self.package).joinpath("locale")
        return tuple(
            sorted(
                entry.name for entry in root.iterdir() if entry.joinpath("LC_MESSAGES", f"{self.domain}.po").is_file()
            )
        )

    def translations(self, lang: str) -> NullTranslations:
        """The translations for ``lang``; the source language translates to itself."""
        if lang == SOURCE_LANGUAGE:
            return NullTranslations()
        cached = self._compiled.get(lang)
        if cached is not None:
            return cached
        po = self.catalog_path(lang)
        if not po.is_file():
            raise LookupError(f"no {self.domain} catalog for language {lang!r}")
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=self.domain)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        translations = Translations(fp=compiled, domain=self.domain)
        self._compiled[lang] = translations
        return translations

    def gettext(self, lang: str, message: str) -> str:
        return self.translations(lang).gettext(message)

    def template_msgids(self) -> set[str]:
        out: set[str] = set()
        if self.template_package is None:
            return out
        for entry in resources.files(self.template_package).joinpath("templates").iterdir():
            if entry.name.endswith(".j2"):
                with entry.open("rb") as handle:
                    options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
                    found = extract("jinja2.ext:babel_extract", handle, keywords=TEMPLATE_KEYWORDS, options=options)
                    out.update(_ids(found))
        return out

    def code_msgids(self) -> set[str]:
        out: set[str] = set()
        for package in self.python_packages:
            for entry in resources.files(package).iterdir():
                if entry.name.endswith(".py"):
                    with entry.open("rb") as handle:
                        out.update(_ids(extract("python", handle, keywords=KEYWORDS)))
        return out

    def required_msgids(self) -> set[str]:
        """Every msgid a text of this domain can show."""
        extra = self.extra_msgids() if self.extra_msgids is not None else set()
        return self.template_msgids() | self.code_msgids() | extra

    def missing(self, lang: str) -> list[str]:
        """Msgids the ``lang`` catalog does not translate (absent, empty, fuzzy or identical to English)."""
        with self.catalog_path(lang).open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=self.domain)
        out = []
        for msgid in sorted(self.required_msgids()):
            message = catalog.get(msgid)
            text = message.string if message is not None else ""
            if not text or message is None or message.fuzzy:
                out.append(msgid)
            elif text == msgid and SAME_AS_SOURCE not in message.user_comments:
                # A word spelled alike in both languages ("Organisation" in Swedish) is marked by the translator.
                out.append(msgid)
        return out

    def report_missing(self) -> int:
        """Print ``lang: msgid`` for every gap; 1 when there is one (for ``python -m ...``)."""
        gaps = {lang: self.missing(lang) for lang in self.languages()}
        for lang, ids in gaps.items():
            for msgid in ids:
                print(f"{lang}: {msgid}")
        return 1 if any(gaps.values()) else 0
