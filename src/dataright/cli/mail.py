"""``dataright mail send|list|resolve``: the e-mail outbox from the command line.

``send`` drains the outbox through the configured SMTP server (or into ``.eml`` files in demo mode or
when ``DATARIGHT_MAIL_DIR`` is set); see ``dataright.mail.sender`` for why a kill never sends twice.
``list`` prints counts by status, never an address. ``resolve`` settles a message whose handover was
cut off (status ``unknown``) once a person has looked its Message-ID up in the mail server's log.
"""

from __future__ import annotations

import signal
import uuid
from types import FrameType
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dataright.cli.common import console, err_console, fail
from dataright.cli.database import cli_session, open_engine, settings_or_exit
from dataright.errors import DataRightError
from dataright.mail import service
from dataright.mail.models import MailStatus
from dataright.mail.sender import Sender, transport_for
from dataright.storage.engine import make_session_factory

mail_app = typer.Typer(help="The e-mail outbox.", no_args_is_help=True)

ACTOR = "cli"


@mail_app.command("send")
def send_command(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit (else keep polling).")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, max=10_000, help="Messages claimed per transaction.")] = 50,
    poll: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between polls when not --once.")] = 5.0,
) -> None:
    """Send the outbox's due messages: SMTP, or .eml files in demo mode / with DATARIGHT_MAIL_DIR."""
    settings = settings_or_exit()
    engine = open_engine(settings)
    stopping = False

    def stop_on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        err_console.print(f"signal {signum}: stopping after this batch", markup=False)

    previous = signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        sender = Sender(make_session_factory(engine), settings, transport_for(settings))
        total = sender.due_count()
        columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console, transient=not err_console.is_terminal) as progress:
            task = progress.add_task("send", total=total or None)
            report = sender.drain(
                batch=batch,
                once=once,
                poll_seconds=poll,
                progress=lambda n: progress.advance(task, n),
                stop=lambda: stopping,
            )
    except DataRightError as exc:
        fail(f"error: {exc}")
    except KeyboardInterrupt:
        fail("interrupted; claimed messages not yet handed over go back to the queue", 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.dispose()
    where = f"into {settings.mail_folder}" if settings.mail_folder is not None else f"via {settings.smtp_host}"
    console.print(
        f"sent {report.sent} {where}; {report.retrying} to retry, {report.failed} failed, "
        f"{report.unknown} unknown (handover cut off; see `dataright mail list`)",
        markup=False,
    )
    if report.failed or report.unknown:
        raise typer.Exit(1)


@mail_app.command("list")
def list_command(
    controller: Annotated[str | None, typer.Option("--controller", "-c", help="Only this controller.")] = None,
) -> None:
    """Counts of outbox messages by status (no addresses); the ids of any that need a person's decision."""
    with cli_session(write=False) as session:
        counts = service.status_counts(session, controller_id=controller)
        attention = service.ids_in_status(session, MailStatus.unknown) + service.ids_in_status(
            session, MailStatus.failed
        )
    table = Table("status", "messages", box=None)
    for status, count in counts.items():
        table.add_row(status, str(count))
    console.print(table)
    for outbox_id in attention:
        console.print(f"needs attention: {outbox_id}", markup=False)


@mail_app.command("resolve")
def resolve_command(
    outbox_id: Annotated[str, typer.Argument(help="The outbox message id (from `dataright mail list`).")],
    delivered: Annotated[
        bool,
        typer.Option(
            "--delivered/--not-delivered",
            help="What the mail server's log says about the message's Message-ID; --not-delivered queues it again.",
        ),
    ],
) -> None:
    """Settle a message whose handover was cut off (unknown), or queue a failed one again."""
    try:
        parsed = uuid.UUID(outbox_id)
    except ValueError:
        fail(f"error: OUTBOX_ID {outbox_id!r} is not a UUID")
        return
    try:
        with cli_session() as session:
            row = service.resolve(session, message_id=parsed, delivered=delivered, actor=ACTOR)
            status = row.status
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    console.print(f"{parsed}: {status}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(mail_app, name="mail")
