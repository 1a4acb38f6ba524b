"""``dataright jobs list|retry|cancel|run`` and ``dataright worker``: background jobs from the command line.

``list`` shows jobs (ids, kinds, states, attempts, the error class; never personal data); ``retry`` queues a
failed, cancelled or waiting job again now; ``cancel`` stops a queued or waiting one from running. ``run``
fires the schedules that are due and runs every due job in this process until none is left (for a cron line
on a machine that runs no server). ``worker`` is a distributed worker: it takes job ids from Dramatiq on
Redis (``jobs_broker_url``), claims the rows in the database and runs them; start as many as you like, on as
many machines, all pointed at the same database and Redis.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dataright.cli.common import console, err_console, fail
from dataright.cli.database import in_session, open_engine, safe_url, settings_or_exit
from dataright.cli.options import DeclarationsOption, registry_for
from dataright.config import Settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import DataRightError
from dataright.jobs import registry as kinds
from dataright.jobs import service
from dataright.jobs.models import CLAIMABLE, Job, JobState
from dataright.jobs.runners import DramatiqRunner, InProcessRunner
from dataright.jobs.runtime import JobEnvironment, execute, tick
from dataright.jobs.tasks import default_schedules
from dataright.storage.engine import make_session_factory, session_scope

jobs_app = typer.Typer(help="Background jobs: list, retry, cancel, run.", no_args_is_help=True)
ACTOR = "cli"
JobArgument = Annotated[str, typer.Argument(help="The job's id (or its first 6+ hex digits).")]
ImportOption = Annotated[
    list[str] | None, typer.Option("--import", help="A module defining more job kinds (repeatable).")
]


def _load_kinds(settings: Settings, extra: list[str] | None) -> None:
    try:
        kinds.load_kinds([*settings.job_modules, *(extra or [])])
    except DataRightError as exc:
        fail(f"error: --import: {exc}")


def _declarations(paths: list[Path] | None, settings: Settings) -> DeclarationRegistry:
    if paths or settings.declarations:
        return registry_for(paths)
    return DeclarationRegistry([])


@jobs_app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 50,
) -> None:
    """The newest jobs, and how many there are in each state."""

    def read(session: Session) -> tuple[list[Job], dict[str, int]]:
        found = service.list_jobs(session, state=state, kind=kind, limit=limit)
        totals = {s: int(n) for s, n in session.execute(select(Job.state, func.count()).group_by(Job.state))}
        return found, totals

    found, totals = in_session(read)
    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("kind", no_wrap=True)
    for column in ("state", "attempts", "run after", "last error", "created by"):
        table.add_column(column)
    for job in found:
        table.add_row(
            str(job.id),
            job.kind,
            job.state,
            f"{job.attempts}/{job.max_attempts}",
            job.run_after.isoformat(timespec="seconds") if job.state in CLAIMABLE else "",
            job.last_error or "",
            job.created_by,
        )
    console.print(table)
    summary = ", ".join(f"{s.value} {totals.get(s.value, 0)}" for s in JobState)
    console.print(f"{len(found)} job(s) shown; {summary}", markup=False)


@jobs_app.command("retry")
def retry_command(job: JobArgument) -> None:
    """Queue a failed, cancelled or waiting job again, now."""
    _load_kinds(settings_or_exit(), None)
    state = in_session(lambda s: service.retry(s, service.find(s, job), actor=ACTOR).state)
    console.print(f"job {job}: {state}", markup=False)


@jobs_app.command("cancel")
def cancel_command(job: JobArgument) -> None:
    """Cancel a queued or waiting job (a running one finishes its attempt)."""
    state = in_session(lambda s: service.cancel(s, service.find(s, job), actor=ACTOR).state)
    console.print(f"job {job}: {state}", markup=False)


@jobs_app.command("run")
def run_command(
    schedules: Annotated[
        bool, typer.Option("--schedules/--no-schedules", help="Fire the schedules that are due first.")
    ] = True,
    declarations: DeclarationsOption = None,
    imports: ImportOption = None,
) -> None:
    """Run every due job in this process until none is left (a cron line for a machine without a server)."""
    settings = settings_or_exit()
    _load_kinds(settings, imports)
    registry = _declarations(declarations, settings)
    engine = open_engine(settings)
    try:
        env = JobEnvironment(make_session_factory(engine), settings, registry)
        runner = InProcessRunner(env, schedules=default_schedules(settings) if schedules else [], owner=None)
        tick(env, owner=runner.owner, schedules=runner.schedules)
        with session_scope(env.factory, write=False) as session:
            due = session.scalar(
                select(func.count()).select_from(Job).where(Job.state.in_(CLAIMABLE), Job.run_after <= env.clock())
            )
        outcomes: dict[str, int] = {}
        columns = (TextColumn("jobs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=not err_console.is_terminal) as progress:
            task = progress.add_task("jobs", total=due or None)
            while True:
                outcome = execute(env, owner=runner.owner, kinds=kinds.known())
                if outcome is None:
                    break
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                progress.advance(task)
    finally:
        engine.dispose()
    ran = sum(outcomes.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    console.print(f"{ran} job(s) run{': ' + detail if detail else ''}", markup=False)
    if outcomes.get("failed"):
        raise typer.Exit(1)


def worker_command(
    threads: Annotated[
        int | None, typer.Option(min=1, max=64, help="Jobs run at once (default: jobs_threads).")
    ] = None,
    declarations: DeclarationsOption = None,
    imports: ImportOption = None,
) -> None:
    """A distributed worker: run jobs handed out through Dramatiq on Redis until stopped (SIGTERM, Ctrl-C)."""
    settings = settings_or_exit()
    _load_kinds(settings, imports)
    registry = _declarations(declarations, settings)
    engine = open_engine(settings)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        err_console.print(f"signal {signum}: finishing the running jobs, then stopping", markup=False)
        stopping.set()

    env = JobEnvironment(make_session_factory(engine), settings, registry)
    runner = DramatiqRunner(
        env,
        broker_url=settings.jobs_broker_url,
        namespace=settings.jobs_namespace,
        queue=settings.jobs_queue,
        threads=threads or settings.jobs_threads,
        poll_seconds=settings.jobs_poll_seconds,
        schedules=default_schedules(settings),
        work=True,
    )
    previous = signal.signal(signal.SIGTERM, stop), signal.signal(signal.SIGINT, stop)
    try:
        runner.start()
        console.print(
            f"worker {runner.owner}: queue {settings.jobs_queue} on {safe_url(settings.jobs_broker_url)}, "
            f"database {safe_url(settings.database_url)}, kinds: {', '.join(kinds.known())}",
            markup=False,
        )
        while not stopping.wait(1.0):
            pass
    finally:
        runner.stop()
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(worker_command)
