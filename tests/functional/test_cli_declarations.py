"""`dataright validate` and `dataright schema` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.declarations.loader import read_documents

runner = CliRunner()


def test_validate_accepts_each_example(example) -> None:
    result = runner.invoke(app, ["validate", str(example.root)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_validate_names_file_line_and_path_of_a_misspelt_legal_basis(examples_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    purposes = root / "purposes.yaml"
    lines = purposes.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if "legal_basis: contract" in line)
    lines[number - 1] = lines[number - 1].replace("contract", "contrakt")
    purposes.write_text("".join(lines), encoding="utf-8")

    result = runner.invoke(app, ["validate", str(root)])

    assert result.exit_code == 1
    assert f"purposes.yaml:{number} purposes[0].legal_basis: 'contrakt' is not one of" in result.output


def test_validate_of_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_schema_is_json_schema_that_accepts_every_example(example) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    document, _ = read_documents(example.root)
    jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(document, default=str)))


def test_schema_rejects_a_misspelt_legal_basis() -> None:
    schema = json.loads(runner.invoke(app, ["schema"]).output)
    basis = schema["$defs"]["LegalBasis"]
    assert "consent" in basis["enum"]
    assert "consnet" not in basis["enum"]
