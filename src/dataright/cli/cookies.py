"""``dataright cookies scan``: what a site really sets, before and after the visitor's choice, held against
the declaration. Exit 0 when clean, 1 on a violation, 2 on bad input (unknown controller, bad URL, no browser).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dataright.cli.common import console, err_console, fail
from dataright.cli.options import ControllerOption, DeclarationsOption, declaration_for
from dataright.config import get_settings
from dataright.cookies.findings import Kind, Phase, Report, Severity, Storage, draft_yaml, duration_of
from dataright.errors import ConfigurationError, DataRightError

cookies_app = typer.Typer(help="Cookies: scan a site and compare it with the declaration.", no_args_is_help=True)

BAD_INPUT = 2
PHASE_TITLES = {
    Phase.before_choice: "before any choice",
    Phase.after_reject: 'after "reject all"',
    Phase.after_accept: 'after "accept all"',
}


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@cookies_app.command("scan")
def scan_command(
    url: Annotated[str, typer.Argument(help="The page to start on (http:// or https://).", show_default=False)],
    controller: ControllerOption,
    declarations: DeclarationsOption = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table: for people; json: the whole report.")
    ] = OutputFormat.table,
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="Pages to visit in each phase.")] = 10,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds for the whole scan (shared by the three phases).")
    ] = 90.0,
    draft: Annotated[
        Path | None,
        typer.Option("--draft", help="Write declaration entries for the undeclared cookies to this YAML file."),
    ] = None,
    reject_selector: Annotated[
        str | None, typer.Option("--reject-selector", help='CSS of the "reject all" button (vanilla-cookieconsent\'s).')
    ] = None,
    accept_selector: Annotated[
        str | None, typer.Option("--accept-selector", help='CSS of the "accept all" button (vanilla-cookieconsent\'s).')
    ] = None,
    as_job: Annotated[
        bool,
        typer.Option(
            "--job",
            help="Queue the scan as a cookies.scan job (the server's runner or a worker runs it and stores what it "
            "found) and print the job's id, instead of scanning here.",
        ),
    ] = False,
) -> None:
    """Crawl a site in headless Chromium three times (no choice, "reject all", "accept all") and report every
    cookie and local-storage entry, who set it, and where it breaks the controller's declaration."""
    from dataright.cookies.scanner import ACCEPT_SELECTOR, REJECT_SELECTOR, ScanOptions, check_url, scan

    try:
        check_url(url)
    except DataRightError as exc:
        fail(f"error: {exc}", BAD_INPUT)
    declaration = declaration_for(controller, declarations, BAD_INPUT)
    if as_job:
        _queue(
            url,
            controller,
            max_pages=max_pages,
            timeout=timeout,
            custom=bool(draft or reject_selector or accept_selector),
        )
        return
    try:
        chromium = get_settings().chromium
    except (ValidationError, ConfigurationError) as exc:
        fail(f"error: settings: {exc}", BAD_INPUT)
        return
    options = ScanOptions(
        url=url,
        chromium=chromium,
        max_pages=max_pages,
        timeout=timeout,
        reject_selector=reject_selector or REJECT_SELECTOR,
        accept_selector=accept_selector or ACCEPT_SELECTOR,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        task = progress.add_task("scanning", total=3 * max_pages)

        def on_page(phase: Phase, page: str) -> None:
            progress.update(task, advance=1, description=f"{PHASE_TITLES[phase]}: {urlsplit(page).path or '/'}")

        try:
            report = scan(options, controller, declaration.cookies_of(controller), on_page)
        except DataRightError as exc:
            progress.stop()
            fail(f"error: {exc}", BAD_INPUT)
            return
    if draft is not None:
        host = urlsplit(report.url).hostname or ""
        draft.write_text(draft_yaml(report.url, report.observations, report.findings, host), encoding="utf-8")
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_tables(report)
    if draft is not None:
        undeclared = sum(1 for f in report.findings if f.kind == Kind.undeclared)
        err_console.print(f"{draft}: {undeclared} draft entr{'y' if undeclared == 1 else 'ies'}", markup=False)
    if report.violations:
        raise typer.Exit(1)


def _queue(url: str, controller: str, *, max_pages: int, timeout: float, custom: bool) -> None:
    from dataright.cli.database import cli_session
    from dataright.jobs.service import enqueue
    from dataright.jobs.tasks import COOKIE_SCAN, cookie_scan_args

    if custom:
        fail("error: --job: --draft, --reject-selector and --accept-selector are for a scan run here", BAD_INPUT)
    try:
        args = cookie_scan_args(controller, url, max_pages=max_pages, timeout=timeout)
    except DataRightError as exc:
        fail(f"error: {exc}", BAD_INPUT)
        return
    with cli_session() as session:
        job_id = enqueue(session, COOKIE_SCAN, args, actor="cli")
    console.print(
        f"queued cookie scan {job_id} ({COOKIE_SCAN}); `dataright jobs list --kind {COOKIE_SCAN}`", markup=False
    )


def _print_tables(report: Report) -> None:
    console.print(f"Cookie scan of {report.url} for {report.controller}", markup=False)
    for outcome in report.phases:
        seen = [o for o in report.observations if o.phase == outcome.phase]
        title = f"{PHASE_TITLES[outcome.phase]}: {len(outcome.pages)} page(s)"
        if outcome.choice_made is False:
            title += ", button not found"
        if outcome.timed_out:
            title += ", stopped at the time limit"
        table = Table(title=title, title_justify="left")
        for column in ("name", "kind", "domain", "path", "expires", "httpOnly", "via", "set by"):
            table.add_column(column)
        for o in seen:
            table.add_row(
                o.name,
                "cookie" if o.storage == Storage.cookie else "local",
                o.domain,
                o.path if o.storage == Storage.cookie else "",
                duration_of(o.lifetime_seconds) if o.storage == Storage.cookie else "",
                ("yes" if o.http_only else "no") if o.storage == Storage.cookie else "",
                str(o.set_via),
                _short(o.set_by, report.url),
            )
        console.print(table)
        for error in outcome.errors:
            console.print(f"  page error: {error}", markup=False)
    if report.findings:
        table = Table(title="Findings", title_justify="left")
        table.add_column("severity")
        table.add_column("finding")
        table.add_column("name")
        table.add_column("detail")
        for f in report.findings:
            style = "bold red" if f.severity == Severity.violation else ""
            table.add_row(str(f.severity), str(f.kind), f.name, f.message, style=style)
        console.print(table)
    notices = len(report.findings) - len(report.violations)
    if report.violations:
        console.print(f"{len(report.violations)} violation(s), {notices} notice(s)", markup=False)
    else:
        console.print(f"clean: no violation, {notices} notice(s)", markup=False)


def _short(url: str | None, site: str) -> str:
    """A setter's URL, as a path when it is on the scanned site's origin."""
    if url is None:
        return "?"
    parts, home = urlsplit(url), urlsplit(site)
    if (parts.scheme, parts.netloc) == (home.scheme, home.netloc):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url


def register(app: typer.Typer) -> None:
    app.add_typer(cookies_app, name="cookies")
