"""``dataright notice`` and ``dataright ropa``: the documents generated from a declaration."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dataright.cli.common import err_console, fail, load_or_exit
from dataright.declarations.notice import render_notice
from dataright.declarations.ropa import build_record, to_csv, to_json, to_xlsx
from dataright.declarations.schema import Declaration
from dataright.errors import DataRightError

PathArg = Annotated[Path, typer.Argument(help="A declaration file or a folder of YAML files.", show_default=False)]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")
]


class NoticeFormat(StrEnum):
    md = "md"
    html = "html"


class RecordFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


class Lang(StrEnum):
    en = "en"
    nb = "nb"
    sv = "sv"
    da = "da"
    de = "de"
    fi = "fi"
    fr = "fr"


def notice(
    path: PathArg,
    controller: Annotated[
        str | None,
        typer.Option("--controller", "-c", help="The controller whose notice to write (optional when there is one)."),
    ] = None,
    lang: Annotated[
        Lang | None, typer.Option("--lang", help="A language the controller publishes in (default: its first).")
    ] = None,
    output_format: Annotated[
        NoticeFormat, typer.Option("--format", help="md: CommonMark; html: a standalone page.")
    ] = NoticeFormat.md,
    output: OutputOpt = None,
) -> None:
    """Write a controller's privacy notice (GDPR Art. 13-14) in one of its languages."""
    declaration = load_or_exit(path).declaration
    controller_id = _controller_id(declaration, controller)
    language = lang.value if lang else declaration.controller_by_id[controller_id].languages[0]
    try:
        text = render_notice(declaration, controller_id, language, output_format.value)
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    _emit(text, output)


def ropa(
    path: PathArg,
    output_format: Annotated[
        RecordFormat, typer.Option("--format", help="csv or json (to standard output or --output), or xlsx.")
    ] = RecordFormat.csv,
    output: OutputOpt = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the column labels and the values.")] = Lang.en,
) -> None:
    """Write the record of processing activities (GDPR Art. 30(1)): one row per controller and purpose."""
    if output_format == RecordFormat.xlsx and output is None:
        fail("error: --format xlsx writes a binary workbook; give a file with --output FILE.xlsx")
        return
    declaration = load_or_exit(path).declaration
    try:
        rows = build_record(declaration, lang.value)
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    if output_format == RecordFormat.xlsx:
        assert output is not None
        output.write_bytes(to_xlsx(rows, lang.value))
        err_console.print(f"wrote {len(rows)} row(s) to {output}", markup=False)
        return
    _emit(to_csv(rows, lang.value) if output_format == RecordFormat.csv else to_json(rows), output)


def _controller_id(declaration: Declaration, wanted: str | None) -> str:
    known = ", ".join(c.id for c in declaration.controllers)
    if wanted is None:
        if len(declaration.controllers) == 1:
            return declaration.controllers[0].id
        fail(f"error: this declaration has several controllers; choose one with --controller ({known})")
    elif wanted not in declaration.controller_by_id:
        fail(f"error: unknown controller {wanted!r}; this declaration has: {known}")
    assert wanted is not None
    return wanted


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8", newline="")
    err_console.print(f"wrote {output}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(notice)
    app.command()(ropa)
