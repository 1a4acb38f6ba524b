"""``dataright keys``: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dataright.access.scopes import KNOWN_SCOPES
from dataright.access.service import create_key, list_keys, revoke_key
from dataright.cli.common import console, err_console
from dataright.cli.database import cli_session
from dataright.errors import DataRightError

keys_app = typer.Typer(help="API keys: scopes per controller.", no_args_is_help=True)


@keys_app.command("create")
def create_command(
    controller: Annotated[
        list[str], typer.Option("--controller", help="A controller id the key acts for (repeat; '*' for all).")
    ],
    scope: Annotated[list[str], typer.Option("--scope", help=f"A scope (repeat): {', '.join(KNOWN_SCOPES)}.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in listings).")] = "api key",
) -> None:
    """Create a key; its token is printed once and cannot be shown again."""
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
    table = Table("prefix", "name", "scopes", "controllers", "created", "revoked")
    for key in keys:
        table.add_row(
            key.prefix,
            key.name,
            " ".join(key.scopes),
            " ".join(key.controller_ids),
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_command(prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` shows it.")]) -> None:
    """Revoke a key: it stops working at once."""
    try:
        with cli_session() as session:
            revoke_key(session, prefix, actor="cli")
    except DataRightError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    console.print(f"revoked {prefix}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
