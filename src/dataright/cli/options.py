"""Options and lookups several command groups share: ``--declarations`` and ``--controller``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataright.cli.common import fail, load_or_exit
from dataright.cli.database import settings_or_exit
from dataright.declarations.registry import DeclarationRegistry
from dataright.declarations.schema import Declaration
from dataright.errors import DataRightError

DeclarationsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--declarations",
        "-d",
        help="A declaration folder or file (repeatable); default: DATARIGHT_DECLARATIONS.",
    ),
]
ControllerOption = Annotated[str, typer.Option("--controller", "-c", help="The controller id.")]


def corrected_values(items: list[str]) -> dict[str, str]:
    """``--set table.field=value`` items (repeatable) as ``{table.field: value}``. A malformed item exits
    naming its field only: the value is the person's data."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or "." not in name:
            fail(f"error: --set {name.strip()!r}: expected table.field=value")
        values[name.strip()] = value
    return values


def registry_for(paths: list[Path] | None, code: int = 1) -> DeclarationRegistry:
    """The declarations named by ``--declarations`` (or the settings), each loaded or reported and exit
    ``code`` (1 unless the command keeps 1 for its own findings)."""
    chosen = paths or settings_or_exit().declarations
    if not chosen:
        fail("error: no declarations: pass --declarations PATH or set DATARIGHT_DECLARATIONS", code)
    try:
        return DeclarationRegistry(load_or_exit(path, code).declaration for path in chosen)
    except DataRightError as exc:
        fail(f"error: --declarations: {exc}", code)
        raise AssertionError("unreachable") from None


def declaration_for(controller_id: str, paths: list[Path] | None, code: int = 1) -> Declaration:
    """The loaded declaration that has ``controller_id``, or a clear message and exit ``code``."""
    registry = registry_for(paths, code)
    try:
        return registry.controller(controller_id).declaration
    except DataRightError as exc:
        fail(f"error: --controller {controller_id}: {exc}", code)
        raise AssertionError("unreachable") from None
