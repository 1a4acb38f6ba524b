"""`dataright notice` and `dataright ropa` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.ropa import headings

runner = CliRunner()


def test_notice_writes_markdown_to_stdout_in_the_controllers_first_language(examples_dir: Path) -> None:
    result = runner.invoke(app, ["notice", str(examples_dir / "nexalearn")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Personvernerklæring: NexaLearn\n")


def test_notice_writes_html_to_a_file(examples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "notice.html"
    result = runner.invoke(
        app,
        [
            "notice",
            str(examples_dir / "nestit-group"),
            "--controller",
            "provendo-as",
            "--lang",
            "nb",
            "--format",
            "html",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="nb">' in page
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr


def test_notice_refuses_an_unknown_controller_and_lists_the_known_ones(examples_dir: Path) -> None:
    result = runner.invoke(app, ["notice", str(examples_dir / "nestit-group"), "--controller", "nestit"])
    assert result.exit_code == 1
    assert "unknown controller 'nestit'; this declaration has: nestit-group-ab, provendo-as" in result.stderr


def test_notice_asks_for_a_controller_when_there_are_several(examples_dir: Path) -> None:
    result = runner.invoke(app, ["notice", str(examples_dir / "nestit-group")])
    assert result.exit_code == 1
    assert "choose one with --controller (nestit-group-ab, provendo-as)" in result.stderr


def test_notice_refuses_a_language_the_controller_does_not_publish_in(examples_dir: Path) -> None:
    result = runner.invoke(app, ["notice", str(examples_dir / "nexalearn"), "--lang", "sv"])
    assert result.exit_code == 1
    assert "does not publish in 'sv'; its languages are: nb, en" in result.stderr
    assert result.stdout == ""


def test_notice_of_an_invalid_declaration_reports_its_problems(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("organisation: {id: x}\n", encoding="utf-8")
    result = runner.invoke(app, ["notice", str(broken)])
    assert result.exit_code == 1
    assert "is not a valid declaration" in result.stderr


def test_ropa_writes_csv_to_stdout(examples_dir: Path) -> None:
    result = runner.invoke(app, ["ropa", str(examples_dir / "nexalearn")])
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert table[0] == headings()
    assert len(table) > 1


def test_ropa_writes_json_to_stdout(examples_dir: Path) -> None:
    result = runner.invoke(app, ["ropa", str(examples_dir / "nexalearn"), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [c["id"] for c in document["controllers"]] == ["nexalearn"]
    assert document["controllers"][0]["activities"][0]["data_subjects"][0] == {
        "id": "adult-student",
        "name": "Adult students",
    }


def test_ropa_writes_one_controllers_record_with_controller(examples_dir: Path) -> None:
    result = runner.invoke(
        app, ["ropa", str(examples_dir / "nestit-group"), "--controller", "provendo-as", "--lang", "nb"]
    )
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert {row[0] for row in table[1:]} == {"provendo-as"}
    unknown = runner.invoke(app, ["ropa", str(examples_dir / "nestit-group"), "--controller", "nobody"])
    assert unknown.exit_code == 1
    assert "unknown controller 'nobody'" in unknown.stderr


def test_a_pdpa_controllers_ropa_is_framed_by_the_pdpa(examples_dir: Path) -> None:
    result = runner.invoke(app, ["ropa", str(examples_dir / "nestpros")])
    assert result.exit_code == 0, result.output
    assert "Art. 30" not in result.stdout
    assert next(csv.reader(io.StringIO(result.stdout))) == headings("en", get_jurisdiction("pdpa-sg").record)


def test_ropa_writes_an_xlsx_workbook_to_the_output_file(examples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ropa.xlsx"
    result = runner.invoke(
        app, ["ropa", str(examples_dir / "nestpros"), "--format", "xlsx", "--output", str(out), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    assert sheet.title == "Personal data inventory"
    assert [c.value for c in sheet[1]] == headings("en", get_jurisdiction("pdpa-sg").record)
    assert sheet.max_row > 1


def test_ropa_xlsx_needs_an_output_file(examples_dir: Path) -> None:
    result = runner.invoke(app, ["ropa", str(examples_dir / "nexalearn"), "--format", "xlsx"])
    assert result.exit_code == 1
    assert "--format xlsx writes a binary workbook; give a file with --output" in result.stderr
    assert result.stdout == ""


def test_ropa_labels_columns_in_the_requested_language(examples_dir: Path) -> None:
    result = runner.invoke(app, ["ropa", str(examples_dir / "nexalearn"), "--lang", "nb"])
    assert result.exit_code == 0, result.output
    assert next(csv.reader(io.StringIO(result.stdout))) == headings("nb")
