"""Helpers shared by command modules: loading with clean errors, the console."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from dataright.declarations.loader import LoadedDeclaration, load
from dataright.errors import DataRightError, DeclarationError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def load_or_exit(path: Path, code: int = 1) -> LoadedDeclaration:
    """Load a declaration or print every problem as ``file:line path: message`` and exit ``code``."""
    try:
        return load(path)
    except DeclarationError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False)
        err_console.print(f"{len(exc.problems)} problem(s); {path} is not a valid declaration", markup=False)
        raise typer.Exit(code) from None


def fail(message: str, code: int = 1) -> None:
    err_console.print(message, markup=False)
    raise typer.Exit(code)


def exit_on_domain_error(exc: DataRightError) -> None:
    fail(f"error: {exc}")
