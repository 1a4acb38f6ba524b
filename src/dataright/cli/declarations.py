"""``dataright validate`` and ``dataright schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dataright.cli.common import console, load_or_exit
from dataright.declarations.schema import Declaration

PathArg = Annotated[Path, typer.Argument(help="A declaration file or a folder of YAML files.")]


def validate(path: PathArg) -> None:
    """Check that a declaration parses and follows the schema; print what it declares."""
    loaded = load_or_exit(path)
    d = loaded.declaration
    console.print(
        f"{path}: valid — {len(d.controllers)} controller(s), {len(d.purposes)} purpose(s), "
        f"{len(d.systems)} system(s), {len(d.retention_rules)} retention rule(s), "
        f"{len(d.legal_holds)} legal hold(s), {len(d.cookies)} cookie(s), "
        f"{len(d.communication_topics)} communication topic(s)",
        markup=False,
    )


def schema() -> None:
    """Print the JSON Schema of a declaration (point your editor's YAML plugin at it)."""
    document = Declaration.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    console.print(json.dumps(document, indent=2, ensure_ascii=False), markup=False)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)
