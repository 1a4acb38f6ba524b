"""``dataright datasets``: check dataset declarations, draft them from a live database, import Fides datasets."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from dataright.cli.common import console, err_console, fail, load_or_exit
from dataright.config import environment
from dataright.connectors.base import DatasetMismatch, DatastoreUnavailable
from dataright.connectors.registry import open_connector
from dataright.connectors.sql.reflect import draft_dataset
from dataright.connectors.sql.url import resolve_url
from dataright.declarations import drafts
from dataright.declarations.datasets import ENV_REFERENCE, Dataset
from dataright.declarations.fides import url_variable
from dataright.declarations.loader import read_fides
from dataright.declarations.taxonomy import fides_category_names
from dataright.engine.graph import GraphInvalid, build_graph
from dataright.errors import DataRightError, DeclarationError

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


OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the YAML here instead of printing it.")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite --output if it exists.")]


def _write(text: str, output: Path | None, force: bool) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    if output.exists() and not force:
        fail(f"error: --output {output} exists (--force overwrites it)")
    output.write_text(text, encoding="utf-8")
    err_console.print(f"wrote {output}", markup=False)


@datasets_app.command("import-fides")
def import_fides_command(
    file: Annotated[Path, typer.Argument(help="A Fides dataset YAML file (dataset: [...]).")],
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Translate a Fides dataset file into dataright's dataset declaration (every guess marked ``# review``).

    A Fides file also loads as it is from a declaration folder (or its ``datasets/`` subfolder); importing
    writes the translation so it can be reviewed and extended (legal holds, restriction, erasure per field).
    """
    try:
        translation = read_fides(file)
    except DeclarationError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False)
        fail(f"{len(exc.problems)} problem(s); {file} is not a Fides dataset dataright can read")
        return
    known = set(fides_category_names())
    for raw in translation.datasets:
        try:
            dataset = Dataset.model_validate(raw)
        except ValidationError as exc:
            fail(f"error: {file}: dataset {raw.get('id')!r} translates to an invalid declaration: {exc}")
            return
        for table in dataset.tables:
            for f in table.fields:
                for key in f.data_categories:
                    if key not in known:
                        err_console.print(
                            f"warning: {dataset.id}.{table.name}.{f.name}: {key!r} is not a fideslang category; "
                            "declare it under data_categories in the declaration that uses this dataset",
                            markup=False,
                        )
        console.print(f"dataset {dataset.id}: {len(dataset.tables)} table(s); URL from {raw['url']}", markup=False)
    header = f"Translated from the Fides dataset file {file.name} by `dataright datasets import-fides`."
    _write(drafts.render({"datasets": translation.datasets}, translation.notes, header=header), output, force)


@datasets_app.command("generate")
def generate_command(
    url: Annotated[
        str, typer.Argument(help="A SQLAlchemy URL, or ${VAR} naming an environment variable that holds it.")
    ],
    dataset_id: Annotated[str, typer.Option("--id", help="The dataset id to write.")] = "main",
    url_variable_name: Annotated[
        str | None,
        typer.Option("--url-variable", help="The environment variable the declaration reads the URL from."),
    ] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="The database schema to read.")] = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Draft a dataset declaration by reading a live database's tables, columns and foreign keys.

    Categories, identity fields and erasure strategies are guessed from column names, types and constraints;
    every guess is marked ``# review``. The URL never reaches the YAML: it names ``${VAR}`` instead.
    """
    named = ENV_REFERENCE.fullmatch(url.strip())
    variable = url_variable_name or (named.group(1) if named else url_variable(dataset_id.replace("-", "_") + "_DB"))
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", variable):
        fail(f"error: --url-variable {variable!r}: an environment variable name (A-Z, 0-9, _)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", dataset_id):
        fail(f"error: --id {dataset_id!r}: lower-case letters, digits and . _ -")
    try:
        draft = draft_dataset(
            resolve_url(url, environment(), where="URL"),
            dataset_id=dataset_id,
            url_template="${" + variable + "}",
            schema=schema,
        )
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    if not draft.dataset["tables"]:
        fail("error: no table holds a column that looks like an identity (e-mail, phone, a customer key)")
    notes = {("datasets", 0, *path): note for path, note in draft.notes.items()}
    notes[("datasets", 0, "url")] = f"the URL is read from {variable} when a request runs"
    header = "Drafted by `dataright datasets generate` from the live schema. Review every `# review` line."
    if draft.left_out:
        header += "\nNot drafted (no identity reaches them over foreign keys): " + ", ".join(draft.left_out)
    _write(drafts.render({"datasets": [draft.dataset]}, notes, header=header), output, force)
    err_console.print(
        f"{len(draft.dataset['tables'])} table(s) drafted, {len(draft.notes)} guess(es) to review", markup=False
    )


def register(app: typer.Typer) -> None:
    app.add_typer(datasets_app, name="datasets")
