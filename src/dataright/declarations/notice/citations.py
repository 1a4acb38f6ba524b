"""Legal citations in the style readers of each language know.

A pack writes its references once, in the English short form (``Art. 6(1)(b)``); a notice in Norwegian cites
"personvernforordningen artikkel 6 nr. 1 bokstav b", in Swedish "artikel 6.1 b i dataskyddsförordningen", in
German "Art. 6 Abs. 1 lit. b DSGVO". References that are not GDPR articles (national acts such as
"personopplysningsloven § 5", PDPA sections) keep their own wording, prefixed with the law's short name
where they would otherwise not say which law they belong to.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dataright.declarations.jurisdictions import Jurisdiction
from dataright.declarations.notice.words import localized

_ARTICLE = re.compile(r"^Art\. (?P<article>\d+)(?:\((?P<paragraph>\d+)\))?(?:\((?P<point>[a-z])\))?$")


def _en(a: str, p: str | None, x: str | None) -> str:
    return f"GDPR Art. {a}" + (f"({p})" if p else "") + (f"({x})" if x else "")


def _nb(a: str, p: str | None, x: str | None) -> str:
    return f"personvernforordningen artikkel {a}" + (f" nr. {p}" if p else "") + (f" bokstav {x}" if x else "")


def _sv(a: str, p: str | None, x: str | None) -> str:
    return f"artikel {a}" + (f".{p}" if p else "") + (f" {x}" if x else "") + " i dataskyddsförordningen"


def _da(a: str, p: str | None, x: str | None) -> str:
    return f"databeskyttelsesforordningens artikel {a}" + (f", stk. {p}" if p else "") + (f", litra {x}" if x else "")


def _de(a: str, p: str | None, x: str | None) -> str:
    return f"Art. {a}" + (f" Abs. {p}" if p else "") + (f" lit. {x}" if x else "") + " DSGVO"


def _fi(a: str, p: str | None, x: str | None) -> str:
    if x:
        return f"tietosuoja-asetuksen {a} artiklan {p} kohdan {x} alakohta"
    if p:
        return f"tietosuoja-asetuksen {a} artiklan {p} kohta"
    return f"tietosuoja-asetuksen {a} artikla"


def _fr(a: str, p: str | None, x: str | None) -> str:
    if p:
        return f"article {a}, paragraphe {p}" + (f", point {x})" if x else "") + ", du RGPD"
    return f"article {a} du RGPD"


GDPR_STYLES: dict[str, Callable[[str, str | None, str | None], str]] = {
    "en": _en,
    "nb": _nb,
    "sv": _sv,
    "da": _da,
    "de": _de,
    "fi": _fi,
    "fr": _fr,
}


def cite(reference: str, pack: Jurisdiction, lang: str) -> str:
    """``reference`` (one or several joined by ``; ``) as a reader of ``lang`` would cite it."""
    if not reference:
        return ""
    return "; ".join(_one(part.strip(), pack, lang) for part in reference.split(";"))


def _one(reference: str, pack: Jurisdiction, lang: str) -> str:
    match = _ARTICLE.match(reference)
    if match and pack.citation_style == "gdpr":
        return GDPR_STYLES.get(lang, _en)(match["article"], match["paragraph"], match["point"])
    if reference.startswith(("Art. ", "s. ", "First Schedule", "Second Schedule")):
        return f"{localized(pack.law_short, lang)} {reference}"
    return reference
