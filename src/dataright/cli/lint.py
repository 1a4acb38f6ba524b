"""``dataright lint``: check a declaration against the law, one finding a line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dataright.cli.common import err_console, fail, load_or_exit
from dataright.declarations.lint import RULES, LocatedFinding, Severity, has_errors, lint
from dataright.declarations.loader import load
from dataright.errors import DeclarationError, DeclarationSyntaxError, Located


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def lint_command(
    path: Annotated[
        Path | None, typer.Argument(help="A declaration file or a folder of YAML files.", show_default=False)
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text: `file:line rule-id message`; json: an array.")
    ] = OutputFormat.text,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="Print the rules and the law they cite.")] = False,
) -> None:
    """Check a declaration against the law. Exits 1 when any error-severity finding exists."""
    if list_rules:
        _print_rules(output_format)
        return
    if path is None:
        fail("give a declaration PATH to lint, or --list-rules", code=2)
        return
    if output_format == OutputFormat.json:
        try:
            loaded = load(path)
        except DeclarationError as exc:  # the declaration does not load: its problems, as JSON like findings
            typer.echo(json.dumps([_load_problem(exc, p) for p in exc.problems], indent=2, ensure_ascii=False))
            raise typer.Exit(1) from None
    else:
        loaded = load_or_exit(path)
    findings = lint(loaded)
    if output_format == OutputFormat.json:
        typer.echo(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            typer.echo(str(finding))
        err_console.print(_summary(path, findings), markup=False)
    if has_errors(findings):
        raise typer.Exit(1)


def _load_problem(exc: DeclarationError, problem: Located) -> dict[str, object]:
    """A problem that stops the declaration loading, in the shape of a finding (``rule`` says which kind)."""
    rule = "yaml-syntax" if isinstance(exc, DeclarationSyntaxError) else "schema"
    return {
        "file": problem.file,
        "line": problem.line,
        "path": problem.path,
        "rule": rule,
        "severity": str(Severity.error),
        "message": problem.message,
        "reference": None,
    }


def _summary(path: Path, findings: list[LocatedFinding]) -> str:
    errors = sum(1 for f in findings if f.severity == Severity.error)
    warnings = len(findings) - errors
    if not findings:
        return f"{path}: no findings ({len(RULES)} rules checked)"
    return f"{path}: {errors} error(s), {warnings} warning(s)"


def _print_rules(output_format: OutputFormat) -> None:
    if output_format == OutputFormat.json:
        rules = [
            {"id": r.id, "severity": str(r.severity), "reference": r.reference, "summary": r.summary} for r in RULES
        ]
        typer.echo(json.dumps(rules, indent=2, ensure_ascii=False))
        return
    width = max(len(r.id) for r in RULES)
    for rule in RULES:
        typer.echo(f"{rule.id:<{width}}  {rule.severity:<7}  {rule.reference}")
        typer.echo(f"{'':<{width}}  {rule.summary}")


def register(app: typer.Typer) -> None:
    app.command("lint")(lint_command)
