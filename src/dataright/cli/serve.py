"""``dataright serve``: the API under uvicorn, on 127.0.0.1:8000 by default.

The embedded SQLite database is migrated before the server starts; a PostgreSQL one must be at head
(``dataright db upgrade``). Outside demo mode a secret key is required. ``--demo`` serves the reference
organisations under ``examples/``, prints an API key with every scope for them, and runs without a secret
key by generating one for this run only; identities stored under it cannot be found after a restart, so
the demo then keeps its data in a fresh temporary database unless ``DATARIGHT_DATABASE_URL`` says otherwise.

``--workers N`` runs N server processes on the same port. Each is a fresh Python process that builds its
app with ``create_app()`` (``worker_app``) from the settings this command resolved, handed over as ``DATARIGHT_*``
environment variables (so a demo's ephemeral secret and database are shared). Per process are: the API key
cache (a key revoked through another worker or the CLI stops working within ``KEY_CACHE_SECONDS``) and the
cookie banner's rate limit (N workers allow N times the calls a minute).

Once the app is built, what start-up made (declarations, routes, models, SQLAlchemy's tables and compiled
statements: long-lived, and most of the heap) is moved out of the garbage collector's sight (``gc.freeze``): a
full collection then scans only what requests made. Under the consent check bench one took about 7 ms instead
of over 100 ms, a pause every request in flight waits out (the tail of the latencies).

The access log is on by default and never shows query strings or unsubscribe tokens (``web.logging``);
``--no-access-log`` turns it off. uvicorn runs on uvloop with the httptools parser (both dependencies; it
picks them itself), which took about a tenth off the check's median latency.
"""

from __future__ import annotations

import gc
import os
import secrets
import signal
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

import dataright
from dataright.access.models import ALL_CONTROLLERS
from dataright.access.scopes import KNOWN_SCOPES
from dataright.access.service import create_key
from dataright.cli.common import console, err_console
from dataright.cli.database import safe_url, settings_or_exit
from dataright.config import SECRET_HINT, Settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import ConfigurationError, DeclarationError
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import current_revision, head_revision, upgrade
from dataright.web.app import create_app
from dataright.web.logging import uvicorn_log_config

DEMO_EXAMPLES = ("nexalearn", "nestit-group", "nestpros")
APP_FACTORY = "dataright.cli.serve:worker_app"


def freeze_startup_heap() -> None:
    """Collect start-up's garbage, then keep every object alive now out of later collections (see above)."""
    gc.collect()
    gc.freeze()


def worker_app() -> FastAPI:
    """The app of one worker process (``--workers N``), from the ``DATARIGHT_*`` environment."""
    app = create_app()
    freeze_startup_heap()
    return app


# One process: on a 2-core machine a second one did not lower the consent check's latency at 500 requests/s
# (bench/consent.py; the server, its database and the clients share the cores), and a single process keeps
# key revocation immediate and the banner's rate limit exact.
DEFAULT_WORKERS = 1


def examples_folder() -> Path | None:
    """``examples/`` in the working folder, else beside the source tree (an editable install)."""
    for candidate in (Path.cwd() / "examples", Path(dataright.__file__).resolve().parents[2] / "examples"):
        if candidate.is_dir():
            return candidate
    return None


def demo_declarations() -> list[Path]:
    folder = examples_folder()
    found = [folder / name for name in DEMO_EXAMPLES if folder is not None and (folder / name).is_dir()]
    if not found:
        err_console.print("error: --demo needs the examples/ folder of the dataright repository", markup=False)
        raise typer.Exit(1)
    return found


def _prepare_database(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        if settings.is_sqlite:
            upgrade(engine)
        elif current_revision(engine) != head_revision():
            err_console.print(
                f"error: the database at {safe_url(settings.database_url)} is not at revision {head_revision()}; "
                "run `dataright db upgrade` first",
                markup=False,
            )
            raise typer.Exit(1)
    finally:
        engine.dispose()


def _demo_key(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            _, token = create_key(
                session, name="demo", scopes=list(KNOWN_SCOPES), controller_ids=[ALL_CONTROLLERS], actor="cli"
            )
    finally:
        engine.dispose()
    return token


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Serve the example organisations with a demo API key.")] = False,
    declarations: Annotated[
        list[Path] | None,
        typer.Option("--declarations", help="A declaration file or folder to serve (repeat).", exists=True),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Server processes; a key revoked elsewhere reaches each within a few seconds."),
    ] = DEFAULT_WORKERS,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log each request (no query strings, no tokens).")
    ] = True,
) -> None:
    """Start the API (OpenAPI at /docs)."""
    with ExitStack() as cleanup:
        _serve(cleanup, host, port, demo, declarations or [], workers=workers, access_log=access_log)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _warn_about(settings: Settings, registry: DeclarationRegistry) -> None:
    """What a server can run without but should not: printed at start."""
    if "base_url" not in settings.model_fields_set and not settings.demo:
        err_console.print(
            f"warning: base_url is not set: unsubscribe links in e-mails will point to {settings.base_url}, "
            "which recipients cannot reach; set DATARIGHT_BASE_URL to the server's public https:// address",
            markup=False,
        )
    if not len(registry):
        err_console.print(
            "warning: no declaration is loaded: every consent route will answer 404 for any controller; "
            "pass --declarations PATH or set DATARIGHT_DECLARATIONS",
            markup=False,
        )


def _serve(
    cleanup: ExitStack,
    host: str,
    port: int,
    demo: bool,
    declarations: list[Path],
    *,
    workers: int,
    access_log: bool,
) -> None:
    settings = settings_or_exit()
    demo = demo or settings.demo
    updates: dict[str, Any] = {"demo": demo}
    if declarations:
        updates["declarations"] = list(declarations)
    elif demo and not settings.declarations:
        updates["declarations"] = demo_declarations()
    if settings.secret_key is None:
        if not demo:
            err_console.print(
                f"error: DATARIGHT_SECRET_KEY is not set; the server will not start without it: "
                f"{SECRET_HINT.removeprefix('set DATARIGHT_SECRET_KEY to ')}",
                markup=False,
            )
            raise typer.Exit(1)
        updates["secret_key"] = SecretStr(secrets.token_urlsafe(32))
        err_console.print("demo: no DATARIGHT_SECRET_KEY, using an ephemeral one for this run", markup=False)
        if "database_url" not in settings.model_fields_set:
            scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="dataright-demo-")))
            updates["database_url"] = f"sqlite:///{scratch / 'dataright.sqlite3'}"
            err_console.print(f"demo: data kept in {scratch} for this run only", markup=False)
    settings = settings.model_copy(update=updates)

    try:
        registry = DeclarationRegistry.from_paths(settings.declarations)
    except DeclarationError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False)
        raise typer.Exit(1) from None
    except ConfigurationError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    _warn_about(settings, registry)
    _prepare_database(settings)
    app = create_app(settings, registry) if workers == 1 else None

    base = f"http://{host}:{port}"
    console.print(
        f"dataright on {base} (OpenAPI: {base}/docs), database {safe_url(settings.database_url)}, "
        f"controllers: {', '.join(registry.controller_ids) or 'none'}",
        markup=False,
    )
    if demo:
        token = _demo_key(settings)
        example = registry.controller_ids[0] if len(registry) else "CONTROLLER"
        console.print(f"demo API key (every scope, every controller): {token}", markup=False)
        console.print(
            f'try: curl -H "Authorization: Bearer {token}" {base}/api/v1/controllers/{example}/audit', markup=False
        )
        for controller in registry.controller_ids:
            console.print(f"demo site with the cookie banner: {base}/demo/{controller}/", markup=False)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "log_config": uvicorn_log_config(),
        "access_log": access_log,
    }
    # uvicorn stops gracefully on SIGINT and SIGTERM, then raises the signal again: SIGTERM's default action would
    # end the process on the spot, leaving a demo's throw-away database behind. As SystemExit it unwinds
    # ``cleanup``, which removes it (SIGINT already arrives as KeyboardInterrupt).
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if app is not None:
            freeze_startup_heap()
            uvicorn.run(app, **options)
        else:
            # Worker processes import the app factory and read the settings resolved here from the environment.
            os.environ.update(settings.as_environment())
            uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    app.command()(serve)
