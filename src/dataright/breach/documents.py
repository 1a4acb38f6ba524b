"""The notification a controller submits to its authority, filled from the breach record (md and html).

GDPR: every item of Art. 33(3), the timeline and the reasons for any delay (Art. 33(1)), the submission's
phase (Art. 33(4)), in the authority's language (the pack's ``breach.authority_language``: Datatilsynet in
Norwegian, IMY in Swedish) through the ``breach`` catalog. PDPA: the fields of the PDPC's notification
form, in English. Staff submit it through the authority's portal and then record it as sent.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markdown_it import MarkdownIt

from dataright.breach.service import BreachView
from dataright.declarations.catalogs import MessageCatalog
from dataright.declarations.notice.categories import category_label as fides_label
from dataright.declarations.notice.render import md_escape
from dataright.declarations.schema import Declaration

CATALOG = MessageCatalog(package="dataright.breach", domain="breach", template_package="dataright.breach")
Format = Literal["md", "html"]


@cache
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("dataright.breach", "templates"),
        autoescape=False,
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(CATALOG.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["md"] = md_escape
    return env


def _text(value: Mapping[Any, str], lang: str) -> str:
    return value.get(lang) or value.get("en") or next(iter(value.values()))


def category_label(declaration: Declaration, key: str, lang: str) -> str:
    custom = declaration.category_by_id.get(key)
    if custom is not None:
        return _text(custom.name, lang)
    return fides_label(key, lang)


def authority_notification(view: BreachView, declaration: Declaration, fmt: Format = "md") -> str:
    """The document for the authority of ``view``'s controller, in that authority's language."""
    b = view.breach
    from dataright.breach.service import jurisdiction_of

    jurisdiction = jurisdiction_of(b)
    rule = jurisdiction.breach
    lang = rule.authority_language
    controller = declaration.controller_by_id[b.controller_id]
    zone = ZoneInfo(b.timezone)
    due = next((d.due for d in view.deadlines if d.clock.value == "authority"), None)
    authority = controller.supervisory_authority or jurisdiction.authority
    phase = len(view.submissions) + 1 if b.authority_notified_at is None else max(1, len(view.submissions))
    template = "pdpc.md.j2" if rule.authority_form == "pdpc" else "gdpr_art33.md.j2"
    markdown = (
        _environment(lang)
        .get_template(template)
        .render(
            b=b,
            rule=rule,
            law=_text(jurisdiction.law_short, lang),
            reference_phased="Art. 33(4)",
            controller=controller,
            authority=_text(authority.name, lang),
            phase=phase,
            occurred=b.occurred_at.astimezone(zone).isoformat(timespec="minutes"),
            aware=b.aware_at.astimezone(zone).isoformat(timespec="minutes"),
            assessed=b.assessed_on.isoformat() if b.assessed_on else "–",
            due=due.isoformat(timespec="minutes") if due is not None else "–",
            systems=", ".join(declaration.system_by_id[s].name for s in b.systems if s in declaration.system_by_id),
            categories=", ".join(category_label(declaration, c, lang) for c in b.categories),
            prescribed=", ".join(
                f"{c.label} ({c.reference})" for c in rule.prescribed_data_classes if c.id in b.prescribed_classes
            )
            or "none",
            because="; ".join(b.notifiable_because) or "–",
            linked=", ".join(f"{ref} ({cid})" for cid, ref in view.linked),
        )
    )
    if fmt == "md":
        return markdown
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    title = b.reference
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        "<style>body{font-family:sans-serif;max-width:50em;margin:1em auto}td,th{border:1px solid #ccc;"
        f"padding:.3em;vertical-align:top}}table{{border-collapse:collapse}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


if __name__ == "__main__":
    sys.exit(CATALOG.report_missing())
