"""``dataright retention plan|run``: enforce the declared retention rules in the controller's datastores.

``plan`` counts what the next run would do, per rule, table, action and what keeps rows (a legal hold, a
restriction, an open rights request), and changes nothing; ``run`` does it in set-based batches with a
progress bar. A rule that cannot run (a trigger column that is not there, a rule that would overwrite a
field a legal hold keeps, a financial-year trigger without the controller's financial year) is refused
before anything runs, with its rule id and ``file:line``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dataright.cli.common import console, err_console, fail, load_or_exit
from dataright.cli.database import open_engine, settings_or_exit
from dataright.cli.options import ControllerOption, DeclarationsOption
from dataright.config import environment
from dataright.connectors.base import DatasetMismatch, DatastoreUnavailable
from dataright.declarations.loader import LoadedDeclaration
from dataright.errors import DataRightError
from dataright.retention.policies import Problem
from dataright.retention.service import DEFAULT_BATCH, Retention, RetentionRefused, SweepOutcome
from dataright.storage.engine import make_session_factory

retention_app = typer.Typer(help="Enforce retention rules in the declared datastores.", no_args_is_help=True)

FormatOption = Annotated[
    Literal["table", "json"], typer.Option("--format", help="table (default) or json.", case_sensitive=False)
]
TodayOption = Annotated[
    str | None, typer.Option("--today", help="Work out what is due as on this day (YYYY-MM-DD); default: today.")
]
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, help="Rows per batch (one transaction each).")]


def _loaded_for(controller: str, paths: list[Path] | None) -> LoadedDeclaration:
    chosen = paths or settings_or_exit().declarations
    if not chosen:
        fail("error: no declarations: pass --declarations PATH or set DATARIGHT_DECLARATIONS")
    for path in chosen:
        loaded = load_or_exit(Path(path))
        if controller in loaded.declaration.controller_by_id:
            return loaded
    fail(f"error: --controller {controller}: no loaded declaration has this controller")
    raise AssertionError("unreachable")


def _today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"error: --today {value!r}: expected a date as YYYY-MM-DD")
        raise AssertionError("unreachable") from None


def _where(loaded: LoadedDeclaration, problem: Problem) -> str:
    file, line, _ = loaded.source_map.locate(problem.path)
    return f"{file}:{line}" if line is not None else file


@contextmanager
def _retention(controller: str, paths: list[Path] | None, today: str | None, batch: int) -> Iterator[Retention]:
    loaded = _loaded_for(controller, paths)
    settings = settings_or_exit()
    try:
        keys = settings.keys()
    except DataRightError as exc:
        fail(f"error: {exc}")
        raise AssertionError("unreachable") from None
    db = open_engine(settings)
    try:
        yield Retention(
            loaded.declaration,
            controller_id=controller,
            session_factory=make_session_factory(db),
            keys=keys,
            environ=environment(),
            today=_today(today),
            batch_size=batch,
            actor="cli",
        )
    except RetentionRefused as exc:
        for problem in exc.problems:
            err_console.print(f"{_where(loaded, problem)} {problem.rule_id}: {problem.message}", markup=False)
        fail(f"{len(exc.problems)} problem(s); nothing was run")
    except DatastoreUnavailable as exc:
        fail(f"{exc} (finished batches are kept; run the command again to go on)", 75)
    except DatasetMismatch as exc:
        for message in exc.problems:
            err_console.print(f"error: {message}", markup=False)
        fail(f"{len(exc.problems)} problem(s)")
    except DataRightError as exc:
        fail(f"error: {exc}")
    finally:
        db.dispose()


def lines(outcome: SweepOutcome) -> list[dict[str, Any]]:
    """One line per rule, table, action and what keeps rows: what the plan and the run print."""
    out: list[dict[str, Any]] = []
    for rule in outcome.rules:
        for t in rule.tables:
            held = sum(t.held.values())
            base = {"rule": rule.rule_id, "dataset": t.dataset, "table": t.table}
            if t.acted - held or not (held or t.restricted or t.postponed or t.dependent or t.deactivated):
                out.append({**base, "action": t.action, "rows": t.acted - held, "kept_by": None})
            for hold_id, n in t.held.items():
                if n:
                    law = rule.holds.get(hold_id)
                    kept_by = f"{hold_id} ({law})" if law else hold_id
                    out.append({**base, "action": "erase (held)", "rows": n, "kept_by": kept_by})
            for reason, n in (
                ("restriction", t.restricted),
                ("open request", t.postponed),
                ("kept rows refer to them", t.dependent),
            ):
                if n:
                    out.append({**base, "action": "keep", "rows": n, "kept_by": reason})
            if t.deactivated:
                out.append({**base, "action": "deactivate", "rows": t.deactivated, "kept_by": None})
    return out


def _print(outcome: SweepOutcome, title: str, output: str) -> None:
    if output == "json":
        console.print_json(json.dumps({**outcome.as_dict(), "lines": lines(outcome)}))
        return
    table = Table(title=title)
    for column in ("rule", "table", "action", "rows", "kept by"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for line in lines(outcome):
        table.add_row(line["rule"], line["table"], line["action"], str(line["rows"]), line["kept_by"] or "")
    wide = console if console.is_terminal else Console(highlight=False, width=max(console.width, 150))
    wide.print(table)
    for rule in outcome.rules:
        state = "" if rule.outcome == "planned" else f" [{rule.outcome}{': ' + rule.error if rule.error else ''}]"
        console.print(f"{rule.rule_id} ({rule.action} {rule.table}): {rule.why}{state}", markup=False)
    if outcome.run_id:
        console.print(f"run {outcome.run_id}: {len(outcome.rules)} rule(s) in {outcome.ms} ms", markup=False)


@retention_app.command("plan")
def plan_command(
    controller: ControllerOption,
    declarations: DeclarationsOption = None,
    output: FormatOption = "table",
    today: TodayOption = None,
) -> None:
    """Count what the next run would do, per rule, table, action and hold; change nothing."""
    with _retention(controller, declarations, today, DEFAULT_BATCH) as retention:
        outcome = retention.plan()
    _print(outcome, f"retention plan for {controller} on {outcome.today.isoformat()}", output)


@retention_app.command("run")
def run_command(
    controller: ControllerOption,
    declarations: DeclarationsOption = None,
    output: FormatOption = "table",
    today: TodayOption = None,
    batch_size: BatchOption = DEFAULT_BATCH,
) -> None:
    """Delete, anonymise or pseudonymise what is due, in batches; resumable; every rule audited."""
    with _retention(controller, declarations, today, batch_size) as retention:
        planned = retention.plan()
        total = sum(t.acted + t.deactivated for r in planned.rules for t in r.tables)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not err_console.is_terminal,
        ) as progress:
            task = progress.add_task(f"retention {controller}", total=total or None)

            def tick(table: str, rows: int) -> None:
                progress.update(task, advance=rows, description=f"retention {table}")

            outcome = retention.run(progress=tick)
    _print(outcome, f"retention run for {controller} on {outcome.today.isoformat()}", output)
    if outcome.failed:
        fail("some rules failed (see above); finished batches are kept, run again to go on", 75)


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
