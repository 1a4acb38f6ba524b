"""``dataright db``: migrations; and the database opener every command that needs storage uses.

The embedded SQLite database is migrated on first use, so the commands work on a fresh laptop. A
PostgreSQL database is migrated only by ``dataright db upgrade``: several servers may share it, and a
schema change there is a deliberate step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from dataright.cli.common import console, err_console, fail
from dataright.config import Settings, get_settings
from dataright.errors import ConfigurationError, DataRightError
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import current_revision, head_revision, new_revision, upgrade

_T = TypeVar("_T")

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)


def settings_or_exit() -> Settings:
    """The settings, or a clear message and exit 1 when they do not validate."""
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            err_console.print(f"error: setting {where}: {error['msg']}", markup=False)
        raise typer.Exit(1) from None
    except ConfigurationError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def open_engine(settings: Settings) -> Engine:
    """An engine on the configured database, migrated when it is the embedded SQLite one."""
    engine = make_engine(settings.database_url)
    if settings.is_sqlite:
        upgrade(engine)
        return engine
    current = current_revision(engine)
    if current != head_revision():
        engine.dispose()
        fail(
            f"error: the database at {safe_url(settings.database_url)} is at revision {current or 'none'}, "
            f"not {head_revision()}; run `dataright db upgrade` first"
        )
    return engine


@contextmanager
def cli_session(*, write: bool = True) -> Iterator[Session]:
    """One transaction on the configured database for a command."""
    engine = open_engine(settings_or_exit())
    try:
        with session_scope(make_session_factory(engine), write=write) as session:
            yield session
    finally:
        engine.dispose()


def in_session(action: Callable[[Session], _T]) -> _T:
    """``action`` in one transaction of a command (``cli_session``); its error printed, exit 1."""
    try:
        with cli_session() as session:
            return action(session)
    except DataRightError as exc:
        fail(f"error: {exc}")
        raise AssertionError("unreachable") from None


@db_app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the configured database (DATARIGHT_DATABASE_URL) to the newest schema."""
    settings = settings_or_exit()
    upgrade(settings.database_url, revision)
    engine = make_engine(settings.database_url)
    try:
        console.print(f"{safe_url(settings.database_url)}: at revision {current_revision(engine)}", markup=False)
    finally:
        engine.dispose()


@db_app.command("revision")
def revision_command(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision changes.")],
    empty: Annotated[bool, typer.Option(help="Write an empty revision instead of autogenerating it.")] = False,
) -> None:
    """For developers: write a new migration from the difference between the models and the migrations."""
    path = new_revision(message, autogenerate=not empty)
    console.print(f"wrote {path}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
