"""``dataright jurisdictions`` and ``dataright languages``: the laws and languages this installation ships.

Adding a law is adding a pack under ``declarations/jurisdictions/packs/``; adding a language is adding a catalog
under ``declarations/notice/locale/``. These commands read what is there, so the lists never go stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from babel import Locale
from rich.table import Table

from dataright.cli.common import console
from dataright.declarations.jurisdictions import all_jurisdictions
from dataright.declarations.notice.catalog import missing
from dataright.declarations.notice.i18n import SOURCE_LANGUAGE, catalog_languages
from dataright.declarations.notice.words import localized

PlainOpt = Annotated[bool, typer.Option("--plain", help="Tab-separated lines instead of a table, for scripts.")]


def jurisdictions(plain: PlainOpt = False) -> None:
    """List the jurisdiction packs: law, supervisory authority, consent age of children and answer deadline."""
    packs = sorted(all_jurisdictions().values(), key=lambda p: p.id)
    rows = [
        (
            p.id,
            p.extends or "",
            localized(p.name, "en"),
            localized(p.authority.name, "en"),
            str(p.child_consent_age),
            p.response.deadline.iso() + (f" + {p.response.extension.iso()}" if p.response.extension else ""),
        )
        for p in packs
    ]
    headers = ("id", "extends", "law", "authority", "child consent age", "answer within")
    _emit(headers, rows, plain, title=f"{len(rows)} jurisdictions")


def languages(plain: PlainOpt = False) -> None:
    """List the languages notices and records can be written in, and whether each catalog is complete."""
    rows = [(SOURCE_LANGUAGE, _name(SOURCE_LANGUAGE), "source language")]
    for lang in catalog_languages():
        gaps = missing(lang)
        rows.append((lang, _name(lang), "complete" if not gaps else f"{len(gaps)} message(s) untranslated"))
    _emit(("code", "language", "catalog"), rows, plain, title=f"{len(rows)} languages")


def _name(lang: str) -> str:
    return str(Locale.parse(lang).get_display_name("en"))


def _emit(headers: tuple[str, ...], rows: Sequence[Sequence[str]], plain: bool, *, title: str) -> None:
    if plain:
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table(*headers, title=title)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(jurisdictions)
    app.command()(languages)
