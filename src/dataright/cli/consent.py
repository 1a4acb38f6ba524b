"""``dataright consent import`` and ``dataright audiences export``: the consent ledger from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dataright.cli.common import console, err_console, fail
from dataright.cli.database import cli_session, settings_or_exit

# Re-exported: other command groups imported these from here before they moved to cli/options.py.
from dataright.cli.options import ControllerOption as ControllerOption
from dataright.cli.options import DeclarationsOption as DeclarationsOption
from dataright.cli.options import declaration_for as declaration_for
from dataright.consent import service
from dataright.consent.audiences import plan_audience
from dataright.consent.imports import ImportResult, audit_import, import_rows, read_rows, reused_keys
from dataright.errors import ConfigurationError, DataRightError
from dataright.requests.disclosures import DisclosureKind, record_disclosure

consent_app = typer.Typer(help="The consent ledger.", no_args_is_help=True)
audiences_app = typer.Typer(help="Ad audiences built from the consent ledger.", no_args_is_help=True)

ACTOR = "cli"


def _blame_configuration(exc: ConfigurationError, done: str = "") -> None:
    fail(f"error: configuration: {exc}\n{done}the file is not at fault: fix the configuration and run again")


def _configuration_or_exit() -> None:
    """Settings an import needs (the secret key hashes and encrypts every identity), checked before any row."""
    try:
        settings_or_exit().keys()
    except ConfigurationError as exc:
        _blame_configuration(exc)


@consent_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: email/phone/customer_id, purpose or topic+channel or cookie, status, "
            "occurred_at; optional birth_date, notice_version, source, text_hash, language, import_key."
        ),
    ],
    controller: ControllerOption,
    declarations: DeclarationsOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction; a re-run resumes.")] = 1000,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check the file, write nothing.")] = False,
) -> None:
    """Import consents from CSV; the whole file is validated first, every problem named by its line.

    Rows are then recorded in batches. Re-running the same file records only what is not in the ledger yet.
    """
    if not file.is_file():
        fail(f"error: {file}: no such file")
    declaration = declaration_for(controller, declarations)
    _configuration_or_exit()
    try:
        rows, problems = read_rows(file, declaration, controller)
    except ConfigurationError as exc:
        _blame_configuration(exc)
    if problems:
        for problem in problems:
            err_console.print(str(problem), markup=False)
        fail(f"{len(problems)} problem(s) in {file}; nothing was imported")
    with cli_session(write=False) as session:
        problems = reused_keys(session, declaration=declaration, controller_id=controller, rows=rows)
    if problems:
        for problem in problems:
            err_console.print(str(problem), markup=False)
        fail(f"{len(problems)} row(s) of {file} reuse an import key; nothing was imported")
    if validate_only:
        console.print(f"{file}: {len(rows)} row(s), no problems", markup=False)
        return
    result = ImportResult()
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=not err_console.is_terminal) as progress:
        task = progress.add_task("import", total=len(rows))
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            try:
                with cli_session() as session:
                    import_rows(
                        session,
                        declaration=declaration,
                        controller_id=controller,
                        rows=batch,
                        actor=ACTOR,
                        result=result,
                    )
            except ConfigurationError as exc:
                progress.stop()
                _blame_configuration(exc, f"{start} row(s) before this batch are recorded; ")
            except DataRightError as exc:
                progress.stop()
                fail(f"error: {exc}\n{start} row(s) before this batch are recorded; fix the row and run again")
            progress.advance(task, len(batch))
    if result.recorded:  # a re-run that adds nothing writes nothing, not even its audit entry
        with cli_session() as session:
            audit_import(session, controller_id=controller, name=file.name, rows=len(rows), result=result, actor=ACTOR)
    console.print(
        f"{len(rows)} row(s): {result.recorded} recorded ({result.refused} refused by the age rule), "
        f"{result.already_imported} already imported, {result.suppressed} skipped (erased on request)",
        markup=False,
    )


@consent_app.command("expire")
def expire_command(controller: ControllerOption, declarations: DeclarationsOption = None) -> None:
    """Write an 'expired' event into the history of every consent whose declared lifetime has ended.

    Checks already treat such consent as expired; this makes the ledger say so (run it daily).
    """
    declaration = declaration_for(controller, declarations)
    try:
        with cli_session() as session:
            count = service.expire_due(session, declaration=declaration, controller_id=controller)
    except DataRightError as exc:
        fail(f"error: {exc}")
    console.print(f"{count} consent(s) of {controller} recorded as expired", markup=False)


@audiences_app.command("export")
def export_command(
    controller: ControllerOption,
    purpose: Annotated[str, typer.Option("--purpose", "-p", help="The purpose the audience is for.")],
    recipient: Annotated[
        str | None,
        typer.Option(
            "--recipient", "-r", help="The matching system it goes to (needed when the purpose declares several)."
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write; default: stdout.")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Write hashed e-mail addresses of exactly the subjects with a lawful basis for the purpose now.

    One lowercase hex SHA-256 of the trimmed, lower-cased address per line: the format Google Customer Match
    and Meta Custom Audiences take. Only a purpose on consent or legitimate interests that declares a matching
    recipient (a system with audience_matching: true) has an audience; a purpose consented to through the
    cookie banner follows the banner's latest choice. Hashed addresses are still personal data: the export
    (recipient, purpose and count, never the hashes) is audited and written to the disclosure log.
    """
    declaration = declaration_for(controller, declarations)
    try:
        plan = plan_audience(declaration, controller, purpose, recipient)
    except DataRightError as exc:
        fail(f"error: {exc}")
    temporary = output.with_name(f".{output.name}.partial") if output else None
    count = 0
    try:
        with cli_session() as session:
            sink = temporary.open("w", encoding="ascii", newline="\n") if temporary else sys.stdout
            try:
                for digest in service.audience_hashes(
                    session, declaration=declaration, controller_id=controller, purpose_id=purpose
                ):
                    sink.write(digest + "\n")
                    count += 1
            finally:
                if temporary:
                    sink.close()
            service.record_audience_export(
                session,
                controller_id=controller,
                purpose_id=purpose,
                recipient_id=plan.recipient.id,
                count=count,
                actor=ACTOR,
            )
            record_disclosure(  # a count, never who: the log names recipient, purpose, count and time
                session,
                controller_id=controller,
                kind=DisclosureKind.audience_export,
                recipient=plan.recipient.id,
                actor=ACTOR,
                purpose=purpose,
                people=count,
                reference="sha256-email",
            )
    except DataRightError as exc:
        if temporary:
            temporary.unlink(missing_ok=True)
        fail(f"error: {exc}")
    if temporary and output:
        temporary.replace(output)
    err_console.print(
        f"{count} hashed e-mail address(es) for purpose {purpose!r} of {controller} to {plan.recipient.id} "
        "(hashed addresses are personal data; logged as a disclosure)",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")
    app.add_typer(audiences_app, name="audiences")
