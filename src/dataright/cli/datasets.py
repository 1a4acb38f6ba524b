"""``dataright datasets``: check dataset declarations, draft them from a live database, import Fides datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataright.cli.common import console, err_console, fail, load_or_exit
from dataright.config import environment
from dataright.connectors.base import DatasetMismatch, DatastoreUnavailable
from dataright.connectors.registry import open_connector
from dataright.engine.graph import GraphInvalid, build_graph
from dataright.errors import DataRightError

datasets_app = typer.Typer(help="Dataset declarations: where personal data is kept.", no_args_is_help=True)


@datasets_app.command("validate")
def validate_command(
    path: Annotated[Path, typer.Argument(help="A declaration folder or file.")],
    live: Annotated[
        bool, typer.Option("--live", help="Also check every table and column against the live datastores.")
    ] = False,
) -> None:
    """Check the datasets: schema (file:line), references, and that every table is reachable without cycles.

    Needs no datastore and no secret; ``--live`` connects (its ``${VAR}`` URLs must be set) and checks that
    the tables and columns exist and that erasure breaks no NOT NULL, unique or foreign-key constraint.
    """
    loaded = load_or_exit(path)
    declaration = loaded.declaration
    if not declaration.datasets:
        fail(f"error: {path} declares no datasets")
    problems: list[str] = []
    for controller in declaration.controllers:
        datasets = declaration.datasets_of(controller.id)
        if not datasets:
            continue
        try:
            graph = build_graph(datasets)
        except GraphInvalid as exc:
            problems.extend(f"{controller.id}: {p}" for p in exc.problems)
            continue
        kinds = sorted({f.identity for d in datasets for t in d.tables for f in t.identities if f.identity})
        console.print(
            f"{controller.id}: {len(datasets)} dataset(s), {len(graph.order)} table(s) reachable from "
            f"{', '.join(kinds)}",
            markup=False,
        )
        if not live:
            continue
        for dataset in datasets:
            try:
                connector = open_connector(dataset, environment(), str(loaded.root))
                try:
                    problems.extend(connector.check(graph.of_dataset(dataset.id), "erase"))
                finally:
                    connector.close()
            except (DatasetMismatch, GraphInvalid) as exc:
                problems.extend(exc.problems)
            except DatastoreUnavailable as exc:
                problems.append(str(exc))
            except DataRightError as exc:
                problems.append(f"dataset {dataset.id}: {exc}")
    for problem in problems:
        err_console.print(f"error: {problem}", markup=False)
    if problems:
        fail(f"{len(problems)} problem(s) in the datasets of {path}")
    console.print(f"{path}: datasets valid{' against the live datastores' if live else ''}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
