"""Every notice every example publishes reads as a finished document: no placeholders, no sentence fragments, no
name written twice, no paragraph said twice, and no English words in a notice in another language."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from dataright.declarations.loader import LoadedDeclaration
from dataright.declarations.notice import FORMATS, render_notice
from dataright.declarations.schema import Declaration

# English words that never belong in a notice in these languages (proper names such as "Google Ads" hold none).
STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "with",
        "which",
        "your",
        "our",
        "this",
        "that",
        "will",
        "when",
        "where",
        "must",
        "shall",
        "from",
        "provider",
        "providers",
        "agreement",
        "decision",
        "commission",
        "clauses",
        "module",
        "terms",
        "shipping",
        "delivery",
        "customer",
        "management",
        "advertising",
        "notice",
        "privacy",
        "rights",
        "right",
        "consent",
        "legitimate",
        "interests",
        "performance",
        "contract",
        "deemed",
        "until",
        "browser",
        "cookies",
        "sweden",
        "norway",
        "denmark",
        "germany",
    ]
)
# The languages the issue names, and French.
STOP_LISTED = ("nb", "sv", "da", "de", "fi", "fr")
# Loanwords that are these languages' own words ("Cookies" in Danish, German and French; "Browser" in German).
ALLOWED = {
    "da": frozenset({"cookies"}),
    "de": frozenset({"cookies", "browser"}),
    "fr": frozenset({"cookies", "notice", "clauses", "commission", "module", "performance"}),
}

PLACEHOLDERS = re.compile(r"%\(|\{\{|\{%|\bNone\b|\bundated\b|\bTODO\b|\bTBD\b|\bundefined\b|\bnull\b|\bXXX\b")
# "Fra deg: Deg, når du handler": a label's last word said again as its value's first.
DOUBLED_LABEL = re.compile(r"(?i)(?<![\w-])(\w+): \1\b")
# "NestIT Group AB, NestIT Group AB, Karlavägen 41": a name twice in a row in a list.
DOUBLED_ITEM = re.compile(r"(?<![\w-])([A-ZÆØÅÄÖ][\w&.-]*(?: [\w&.-]+){0,3}), \1(?=[,;.)]| |$)")
# Addresses, links and code (cookie names such as nestit_cookie_consent) are not prose.
URLS = re.compile(r"\S+@\S+|https?://\S+|\b[\w-]+\.(?:com|no|se|info|sg|dk|de|fi|fr)\b\S*|\S*_\S*")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÆØÅÄÖÜÉ])")
# "NestIT Group AB och dess dotterbolag." names a thing and stops: a name, a conjunction, and no verb.
FRAGMENT = re.compile(
    r"^[A-ZÆØÅÄÖ][\w&.-]*(?: [A-ZÆØÅÄÖ][\w&.-]*)* (?:and|och|og|und|ja|et) "
    r"(?:its|dess|datterselskapene|seine|sen|ses)\b"
)


class _Blocks(HTMLParser):
    """The text of a page, and of each of its paragraphs (``<p>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.paragraphs: list[str] = []
        self._current: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "p":
            self._current = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        self.parts.append(" ")
        if tag == "p" and self._current is not None:
            self.paragraphs.append(" ".join("".join(self._current).split()))
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.parts.append(data)
        if self._current is not None:
            self._current.append(data)


def _read(rendered: str, fmt: str) -> _Blocks:
    html = MarkdownIt("commonmark").enable("table").render(rendered) if fmt == "md" else rendered
    parser = _Blocks()
    parser.feed(html)
    return parser


def visible(rendered: str, fmt: str) -> str:
    return " ".join("".join(_read(rendered, fmt).parts).split())


def paragraphs(rendered: str, fmt: str) -> list[str]:
    return [p for p in _read(rendered, fmt).paragraphs if p]


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(paragraph) if s.strip()]


def problems(rendered: str, fmt: str, lang: str) -> list[str]:
    """What a careful reader would object to in one rendered notice."""
    found: list[str] = []
    text = visible(rendered, fmt)
    found += [f"placeholder {m.group(0)!r}" for m in PLACEHOLDERS.finditer(text)]
    found += [f"written twice: {m.group(0)!r}" for m in DOUBLED_LABEL.finditer(text)]
    found += [f"written twice: {m.group(0)!r}" for m in DOUBLED_ITEM.finditer(text)]
    blocks = paragraphs(rendered, fmt)
    counted = Counter(s for p in blocks for s in sentences(p) if len(s.split()) >= 5)
    found += [f"said {n} times: {s!r}" for s, n in counted.items() if n > 1]
    found += [f"fragment: {s!r}" for p in blocks for s in sentences(p) if FRAGMENT.match(s)]
    if lang in STOP_LISTED:
        words = re.findall(r"[^\W\d_]+", URLS.sub(" ", text))
        allowed = ALLOWED.get(lang, frozenset())
        english = sorted({w for w in words if w.lower() in STOP_WORDS and w.lower() not in allowed})
        found += [f"English word {w!r}" for w in english]
    return found


def _published(d: Declaration) -> list[tuple[str, str]]:
    return [(c.id, lang) for c in d.controllers for lang in c.languages]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_published_notice_reads_as_a_finished_document(example: LoadedDeclaration, fmt: str) -> None:
    d = example.declaration
    assert _published(d)
    for controller_id, lang in _published(d):
        found = problems(render_notice(d, controller_id, lang, fmt), fmt, lang)
        assert not found, f"{d.organisation.id} {controller_id} {lang} {fmt}: {found}"


# -- the checks themselves catch what the issue found --------------------------------------------------------------
def test_the_checks_catch_a_fragment_a_doubled_name_a_repeated_paragraph_and_a_placeholder() -> None:
    page = (
        "<p>NestIT Group AB ingår i NestIT Group. NestIT Group AB och dess dotterbolag. Varje bolag är ansvarigt.</p>"
        "<p>Kontakta NestIT Group AB, NestIT Group AB, Karlavägen 41.</p>"
        "<p>Det är kostnadsfritt att utöva dina rättigheter.</p><p>Det är kostnadsfritt att utöva dina rättigheter.</p>"
        "<p>This is version undated of the notice.</p><ul><li>Fra deg: Deg, når du handler</li></ul>"
        "<p>Shipping and delivery providers</p>"
    )
    found = problems(page, "html", "sv")
    assert any(f.startswith("fragment: 'NestIT Group AB och dess dotterbolag.'") for f in found)
    assert "written twice: 'NestIT Group AB, NestIT Group AB'" in found
    assert "written twice: 'deg: Deg'" in found
    assert any(f.startswith("said 2 times: 'Det är kostnadsfritt") for f in found)
    assert "placeholder 'undated'" in found
    assert {"English word 'Shipping'", "English word 'and'", "English word 'providers'"} <= set(found)


def test_a_finished_swedish_paragraph_passes() -> None:
    page = (
        "<p>Koncernen består av NestIT Group AB och dess dotterbolag. Varje bolag är ansvarigt för sin behandling.</p>"
    )
    assert problems(page, "html", "sv") == []


def _publishing_also_in(d: Declaration, lang: str) -> Declaration:
    data = d.model_dump(mode="python")
    for c in data["controllers"]:
        c["languages"] = (*c["languages"], lang)
    return Declaration.model_validate(data)


@pytest.mark.parametrize("lang", ["da", "de", "fi", "fr"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_notices_in_the_new_languages_leak_no_english(
    nexalearn: Declaration, nestit: Declaration, nestpros: Declaration, lang: str, fmt: str
) -> None:
    # No example publishes in these languages yet: publish each controller in them too. Declared texts without
    # the language fall back to the organisation's default language (Norwegian, Swedish; lint warns); every word
    # the product adds must be in the notice's language. Nestpros writes English only, so only the product's own
    # headings are checked there.
    for d in (nexalearn, nestit):
        published = _publishing_also_in(d, lang)
        for c in published.controllers:
            found = problems(render_notice(published, c.id, lang, fmt), fmt, lang)
            assert not found, f"{c.id} {lang} {fmt}: {found}"
    text = visible(render_notice(_publishing_also_in(nestpros, lang), "nestpros", lang, fmt), fmt)
    for heading in ("Who we are", "Your rights", "How long we keep your personal data", "Legal basis", "Right of"):
        assert heading not in text
