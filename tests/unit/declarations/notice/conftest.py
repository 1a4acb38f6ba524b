"""Helpers for reading a rendered notice the way a person sees it."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def md_text(markdown: str) -> str:
    """The text a CommonMark (+ GFM tables) renderer shows for ``markdown``."""
    return html_text(MarkdownIt("commonmark").enable("table").render(markdown))


def visible(text: str, fmt: str) -> str:
    return md_text(text) if fmt == "md" else html_text(text)


@pytest.fixture
def shown() -> Callable[[str, str], str]:
    """``shown(rendered, fmt)``: the visible text of a rendered notice, whitespace collapsed."""
    return visible
