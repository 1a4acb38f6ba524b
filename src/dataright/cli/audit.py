"""``dataright audit verify``: check the hash chain of the audit log."""

from __future__ import annotations

import typer

from dataright.audit.service import verify
from dataright.cli.common import console, err_console
from dataright.cli.database import cli_session

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify_command() -> None:
    """Recompute the chain; exit 1 and name the first bad entry when one was edited, deleted or reordered."""
    with cli_session(write=False) as session:
        report = verify(session)
    if report.ok:
        console.print(str(report), markup=False)
        return
    err_console.print(str(report), markup=False)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
