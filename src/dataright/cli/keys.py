"""``dataright keys``: create, list and revoke API keys."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dataright.access.models import ALL_CONTROLLERS
from dataright.access.scopes import KNOWN_SCOPES
from dataright.access.service import create_key, list_keys, revoke_key
from dataright.cli.common import console, err_console, fail, load_or_exit
from dataright.cli.database import cli_session, settings_or_exit
from dataright.errors import DataRightError

keys_app = typer.Typer(help="API keys: scopes per controller.", no_args_is_help=True)


PREFIX_FORM = re.compile(r"(?:dr_)?(?P<prefix>[0-9a-f]{12})(?:_\S*)?")


def prefix_of(text: str) -> str:
    """The bare prefix from ``dr_<prefix>`` (as ``keys list`` prints it), ``<prefix>``, or the key itself."""
    match = PREFIX_FORM.fullmatch(text.strip())
    if match is None:
        fail(f"error: {text!r} is not a key prefix; give it as `keys list` prints it (dr_ and 12 hex digits)")
        raise AssertionError("unreachable")
    return match["prefix"]


def _check_controllers(controllers: list[str], declarations: list[Path] | None) -> None:
    """Every named controller (but ``*``) must be in a loaded declaration: a typo must not make a useless key."""
    named = [c for c in controllers if c != ALL_CONTROLLERS]
    if not named:
        return
    paths = declarations or settings_or_exit().declarations
    if not paths:
        fail(
            "error: --controller: no declarations to check the controller against; "
            "pass --declarations PATH or set DATARIGHT_DECLARATIONS"
        )
    known: set[str] = set()
    for path in paths:
        known.update(load_or_exit(path).declaration.controller_by_id)
    for controller in named:
        if controller not in known:
            near = difflib.get_close_matches(controller, sorted(known), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(sorted(known))}"
            fail(f"error: --controller {controller}: no loaded declaration has this controller{hint}")


@keys_app.command("create")
def create_command(
    controller: Annotated[
        list[str], typer.Option("--controller", help="A controller id the key acts for (repeat; '*' for all).")
    ],
    scope: Annotated[list[str], typer.Option("--scope", help=f"A scope (repeat): {', '.join(KNOWN_SCOPES)}.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in listings).")] = "api key",
    declarations: Annotated[
        list[Path] | None,
        typer.Option(
            "--declarations",
            "-d",
            help="Declarations naming the controllers (repeat); default: DATARIGHT_DECLARATIONS.",
        ),
    ] = None,
) -> None:
    """Create a key for controllers of the loaded declarations; its token is printed once and cannot be shown again."""
    _check_controllers(controller, declarations)
    try:
        with cli_session() as session:
            key, token = create_key(session, name=name, scopes=scope, controller_ids=controller, actor="cli")
    except DataRightError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(token, markup=False)
    err_console.print(
        f"created key {key.prefix} ({name}) for {', '.join(key.controller_ids)} with {', '.join(key.scopes)}; "
        "store the token now, it is not kept",
        markup=False,
    )


@keys_app.command("list")
def list_command(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """List keys (prefix, name, scopes, controllers); tokens are never shown."""
    with cli_session(write=False) as session:
        keys = list_keys(session, include_revoked=all_keys)
    table = Table()
    table.add_column("prefix", no_wrap=True)  # whole, so it can be copied into `keys revoke`
    for column in ("name", "scopes", "controllers"):
        table.add_column(column)
    table.add_column("created", no_wrap=True)
    if all_keys:
        table.add_column("revoked", no_wrap=True)
    for key in keys:
        cells = [
            f"dr_{key.prefix}",
            key.name,
            " ".join(key.scopes),
            " ".join(key.controller_ids),
            key.created_at.strftime("%Y-%m-%d %H:%M"),
        ]
        if all_keys:
            cells.append(key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "")
        table.add_row(*cells)
    console.print(table)


@keys_app.command("revoke")
def revoke_command(
    prefix: Annotated[
        str, typer.Argument(help="The key's prefix as `keys list` shows it (dr_ and 12 hex digits), or the key.")
    ],
) -> None:
    """Revoke a key: it stops working at once."""
    bare = prefix_of(prefix)
    try:
        with cli_session() as session:
            revoke_key(session, bare, actor="cli")
    except DataRightError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"revoked dr_{bare}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
