"""Render a controller's privacy notice as Markdown or as a standalone HTML page.

One Jinja2 environment per language, with that language's gettext catalog installed (the
``jinja2.ext.i18n`` extension, ``{% trans %}`` blocks trimmed). HTML is autoescaped; Markdown values
go through the ``md``, ``cell``, ``code`` and ``link`` filters, which escape what CommonMark would
otherwise read as markup.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dataright.declarations.notice.i18n import translations
from dataright.declarations.notice.view import build_notice_view
from dataright.declarations.notice.words import join
from dataright.declarations.schema import Declaration

Format = Literal["md", "html"]
FORMATS: tuple[Format, ...] = ("md", "html")

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_BLOCK_START = re.compile(r"^(\s*\d*)([-+#=>.)])(?=\s|$)")
_AUTOLINK = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]+|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$")


def md_escape(text: object) -> str:
    """Escape a value so CommonMark shows it as written (one line, no emphasis, links or HTML)."""
    value = " ".join(str(text).split())
    value = _INLINE_SPECIAL.sub(r"\\\1", value)
    value = _ENTITY.sub(r"\\&", value)
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), value, count=1)


def md_code(text: object) -> str:
    """A code span that holds any text (and a ``|`` that does not end a table cell)."""
    value = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}".replace("|", "\\|")


def md_link(text: object) -> str:
    """A URL or e-mail address as a CommonMark autolink; anything else as escaped text."""
    value = str(text).strip()
    return f"<{value}>" if _AUTOLINK.match(value) else md_escape(value)


def html_href(text: object) -> str:
    """The href for a URL or e-mail address shown in the HTML notice."""
    value = str(text).strip()
    if "@" in value and ":" not in value:
        return f"mailto:{value}"
    return value if re.match(r"^https?://", value) else f"https://{value}"


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("dataright.declarations.notice", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(md=md_escape, cell=md_escape, code=md_code, link=md_link, href=html_href)
    env.filters["words"] = lambda items: join(items, lang)
    return env


def render_notice(declaration: Declaration, controller_id: str, lang: str, fmt: Format) -> str:
    """The notice of one controller in one of its languages, as ``md`` or ``html``; pure, no I/O.

    Raises ``NotFound`` for an unknown controller and ``ValidationFailed`` when the controller does
    not publish in ``lang``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown notice format {fmt!r}; expected one of {', '.join(FORMATS)}")
    view = build_notice_view(declaration, controller_id, lang)
    text = environment(lang).get_template(f"notice.{fmt}.j2").render(notice=view)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
