"""``dataright dsr access|erase|rectify|restrict``: run a rights request against the declared datastores.

The same engine the request pipeline drives, run directly: the person is named by their identities
(``--email``, ``--phone``, ``--identity KIND=VALUE``); ``--dry-run`` counts what would be read or changed per
table and field and changes nothing. Outcomes and counts (never the data) go to the audit trail.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dataright.cli.common import console, err_console, fail
from dataright.cli.database import open_engine, settings_or_exit
from dataright.cli.options import ControllerOption, DeclarationsOption, corrected_values, declaration_for
from dataright.config import environment
from dataright.connectors.base import DatasetMismatch, DatastoreUnavailable
from dataright.engine.graph import GraphInvalid
from dataright.engine.service import CorrectionRefused, Engine, Kind, Outcome, Request, normalise_identities
from dataright.errors import DataRightError
from dataright.requests.package_rows import plain
from dataright.storage.engine import make_session_factory

dsr_app = typer.Typer(help="Run rights requests against the declared datastores.", no_args_is_help=True)

EmailOption = Annotated[str | None, typer.Option("--email", help="The person's e-mail address.")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="The person's phone number.")]
IdentityOption = Annotated[
    list[str] | None, typer.Option("--identity", help="Another identity as KIND=VALUE (repeatable).")
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Count what would be read or changed; change nothing.")]


def _identities(email: str | None, phone: str | None, extra: list[str] | None) -> dict[str, str]:
    raw: dict[str, str] = {}
    if email:
        raw["email"] = email
    if phone:
        raw["phone_number"] = phone
    for item in extra or []:
        kind, sep, value = item.partition("=")
        if not sep or not kind or not value:
            fail(f"error: --identity {item!r}: expected KIND=VALUE")
        raw[kind.strip()] = value
    try:
        return normalise_identities(raw)
    except DataRightError as exc:
        fail(f"error: {exc}")
        raise AssertionError("unreachable") from None


@contextmanager
def _engine(controller: str, declarations: list[Path] | None) -> Iterator[Engine]:
    settings = settings_or_exit()
    declaration = declaration_for(controller, declarations)
    try:
        keys = settings.keys()
    except DataRightError as exc:
        fail(f"error: {exc}")
        raise AssertionError("unreachable") from None
    db = open_engine(settings)
    try:
        yield Engine(
            declaration, session_factory=make_session_factory(db), keys=keys, environ=environment(), actor="cli"
        )
    finally:
        db.dispose()


@contextmanager
def _failures() -> Iterator[None]:
    try:
        yield
    except DatastoreUnavailable as exc:
        fail(f"{exc} (nothing of the failed step was applied; run the command again to resume)", 75)
    except (DatasetMismatch, GraphInvalid) as exc:
        for problem in exc.problems:
            err_console.print(f"error: {problem}", markup=False)
        fail(f"{len(exc.problems)} problem(s); nothing was run")
    except CorrectionRefused as exc:  # the engine names the correction; here it was given with --set
        fail(f"error: --set {exc.field}: {exc.problem}" if exc.field is not None else f"error: --set: {exc.problem}")
    except DataRightError as exc:
        fail(f"error: {exc}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    )


def _run(kind: Kind, engine: Engine, request: Request) -> Outcome:
    with _progress() as progress:
        task = progress.add_task(f"{kind} {request.controller_id}", total=None)

        def tick(table: str, rows: int) -> None:
            progress.update(task, advance=rows, description=f"{kind} {table}")

        if kind == "erase":
            return engine.erase(request, progress=tick)
        if kind == "rectify":
            return engine.rectify(request, progress=tick)
        return engine.restrict(request, progress=tick)


def _report(outcome: Outcome) -> None:
    verb = "would change" if outcome.dry_run else "changed"
    table = Table(title=f"{outcome.kind}{' (dry run)' if outcome.dry_run else ''}: rows {verb}")
    for column in ("table", "rows", "deleted", "fields", "kept (legal hold)"):
        table.add_column(column)
    for step in outcome.steps:
        fields = ", ".join(f"{k} {v}" for k, v in step.fields.items())
        kept = ", ".join(f"{k} ({v})" for k, v in step.kept.items())
        kept = f"{kept} in {step.held_rows} rows" if kept else ""
        table.add_row(f"{step.dataset}.{step.table}", str(step.rows), str(step.deleted), fields, kept)
    console.print(table)
    resumed = f"; resumed after {outcome.resumed_after} finished step(s)" if outcome.resumed_after else ""
    console.print(
        f"run {outcome.run_id or '-'}: {len(outcome.steps)} step(s) in {outcome.ms} ms{resumed}", markup=False
    )


@dsr_app.command("access")
def access_command(
    controller: ControllerOption,
    email: EmailOption = None,
    phone: PhoneOption = None,
    identity: IdentityOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the rows here (JSON lines).")] = None,
    dry_run: DryRunOption = False,
    declarations: DeclarationsOption = None,
) -> None:
    """Find the person's rows in every datastore; stream them as JSON lines ({datastore, table, row})."""
    request = Request("access", controller, _identities(email, phone, identity), dry_run=dry_run)
    counts: dict[str, int] = {}
    with _engine(controller, declarations) as engine, _failures(), _progress() as progress:
        task = progress.add_task(f"access {controller}", total=None)
        sink = sys.stdout if output is None or dry_run else output.open("w", encoding="utf-8")
        try:
            for section in engine.access(request):
                name = f"{section.datastore}.{section.table}"
                counts[name] = counts.get(name, 0) + len(section.rows)
                progress.update(task, advance=len(section.rows), description=f"access {name}")
                if dry_run:
                    continue
                for row in section.rows:
                    record = {"datastore": section.datastore, "table": section.table, "row": row}
                    sink.write(json.dumps(record, default=plain, ensure_ascii=False) + "\n")
        finally:
            if sink is not sys.stdout:
                sink.close()
    target = console if output is not None or dry_run else err_console
    for name, count in counts.items():
        target.print(f"{name}: {count} row(s){' would be read' if dry_run else ''}", markup=False)


@dsr_app.command("erase")
def erase_command(
    controller: ControllerOption,
    email: EmailOption = None,
    phone: PhoneOption = None,
    identity: IdentityOption = None,
    dry_run: DryRunOption = False,
    declarations: DeclarationsOption = None,
) -> None:
    """Erase the person's data: rows deleted or fields erased as declared, legal holds kept; resumable."""
    request = Request("erase", controller, _identities(email, phone, identity), dry_run=dry_run)
    with _engine(controller, declarations) as engine, _failures():
        _report(_run("erase", engine, request))


@dsr_app.command("rectify")
def rectify_command(
    controller: ControllerOption,
    changes: Annotated[list[str], typer.Option("--set", help="table.field=value to correct (repeatable).")],
    email: EmailOption = None,
    phone: PhoneOption = None,
    identity: IdentityOption = None,
    dry_run: DryRunOption = False,
    declarations: DeclarationsOption = None,
) -> None:
    """Correct fields of the person's rows (each value checked against the column and its category)."""
    parsed = corrected_values(changes)
    request = Request("rectify", controller, _identities(email, phone, identity), dry_run=dry_run, changes=parsed)
    with _engine(controller, declarations) as engine, _failures():
        _report(_run("rectify", engine, request))


@dsr_app.command("restrict")
def restrict_command(
    controller: ControllerOption,
    email: EmailOption = None,
    phone: PhoneOption = None,
    identity: IdentityOption = None,
    lift: Annotated[bool, typer.Option("--lift", help="Lift the restriction instead of setting it.")] = False,
    dry_run: DryRunOption = False,
    declarations: DeclarationsOption = None,
) -> None:
    """Restrict processing of the person's rows (flag column or side table), or lift it."""
    request = Request("restrict", controller, _identities(email, phone, identity), dry_run=dry_run, lift=lift)
    with _engine(controller, declarations) as engine, _failures():
        _report(_run("restrict", engine, request))


def register(app: typer.Typer) -> None:
    app.add_typer(dsr_app, name="dsr")
