"""Which msgids the documents use, found the way ``pybabel extract`` finds them.

Templates are read with Jinja2's Babel extractor, Python modules of this package and of ``ropa``
with Babel's Python extractor (``_`` and the ``N_`` marker), and the fideslang category names are
added because they are translated by value. A test checks every catalog covers this set, so no
English text reaches a Norwegian or Swedish document.

``python -m dataright.declarations.notice.catalog`` prints the msgids a catalog still lacks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import resources

from babel.messages.extract import extract
from babel.messages.pofile import read_po

from dataright.declarations.notice.i18n import DOMAIN, catalog_languages, catalog_path
from dataright.declarations.taxonomy import fides_category_names

KEYWORDS = {"_": None, "N_": None}
# A {% trans %} block compiles to a gettext() call, which is how the Jinja2 extractor reports it.
TEMPLATE_KEYWORDS = {**KEYWORDS, "gettext": None}
PYTHON_PACKAGES = ("dataright.declarations.notice", "dataright.declarations.ropa")
TEMPLATE_PACKAGE = "dataright.declarations.notice"


def _ids(found: Iterator[tuple[int, str | tuple[str, ...], list[str], str | None]]) -> Iterator[str]:
    for _lineno, message, _comments, _context in found:
        yield message if isinstance(message, str) else message[0]


def template_msgids() -> set[str]:
    out: set[str] = set()
    for entry in resources.files(TEMPLATE_PACKAGE).joinpath("templates").iterdir():
        if entry.name.endswith(".j2"):
            with entry.open("rb") as handle:
                options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
                out.update(
                    _ids(extract("jinja2.ext:babel_extract", handle, keywords=TEMPLATE_KEYWORDS, options=options))
                )
    return out


def code_msgids() -> set[str]:
    out: set[str] = set()
    for package in PYTHON_PACKAGES:
        for entry in resources.files(package).iterdir():
            if entry.name.endswith(".py"):
                with entry.open("rb") as handle:
                    out.update(_ids(extract("python", handle, keywords=KEYWORDS)))
    return out


def required_msgids() -> set[str]:
    """Every msgid a document can show."""
    return template_msgids() | code_msgids() | set(fides_category_names().values())


def missing(lang: str) -> list[str]:
    """Msgids the ``lang`` catalog does not translate (absent, empty, fuzzy or identical to English)."""
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    out = []
    for msgid in sorted(required_msgids()):
        message = catalog.get(msgid)
        text = message.string if message is not None else ""
        if not text or message is None or message.fuzzy or text == msgid:
            out.append(msgid)
    return out


def main() -> int:
    gaps = {lang: missing(lang) for lang in catalog_languages()}
    for lang, ids in gaps.items():
        for msgid in ids:
            print(f"{lang}: {msgid}")
    return 1 if any(gaps.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
