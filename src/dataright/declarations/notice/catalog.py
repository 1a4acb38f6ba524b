"""Which msgids the documents use, found the way ``pybabel extract`` finds them.

Templates are read with Jinja2's Babel extractor, Python modules of this package and of ``ropa``
with Babel's Python extractor (``_`` and the ``N_`` marker; the readable fideslang category names are ``N_``
entries of ``categories.py``). A test checks every catalog covers this set, so no
English text reaches a Norwegian or Swedish document. The extraction itself is the shared
``MessageCatalog``'s (``dataright.declarations.catalogs``).

``python -m dataright.declarations.notice.catalog`` prints the msgids a catalog still lacks.
"""

from __future__ import annotations

import sys

from dataright.declarations.notice.i18n import CATALOG


def template_msgids() -> set[str]:
    return CATALOG.template_msgids()


def code_msgids() -> set[str]:
    return CATALOG.code_msgids()


def required_msgids() -> set[str]:
    """Every msgid a document can show."""
    return CATALOG.required_msgids()


def missing(lang: str) -> list[str]:
    """Msgids the ``lang`` catalog does not translate (absent, empty, fuzzy or identical to English)."""
    return CATALOG.missing(lang)


def main() -> int:
    return CATALOG.report_missing()


if __name__ == "__main__":
    sys.exit(main())
