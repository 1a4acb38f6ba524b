"""`dataright lint` as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.declarations.lint import RULES

runner = CliRunner()


def _broken_copy(examples_dir: Path, tmp_path: Path) -> tuple[Path, int]:
    """NexaLearn with its first purpose on deemed consent, which the GDPR does not know; and that line."""
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    purposes = root / "purposes.yaml"
    lines = purposes.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, start=1) if "legal_basis: contract" in line)
    lines[number - 1] = lines[number - 1].replace("contract", "deemed_consent")
    purposes.write_text("".join(lines), encoding="utf-8")
    return root, number


def test_lint_passes_each_example(example) -> None:
    result = runner.invoke(app, ["lint", str(example.root)])
    assert result.exit_code == 0, result.output


def test_lint_prints_file_line_rule_and_message_and_fails(examples_dir: Path, tmp_path: Path) -> None:
    root, number = _broken_copy(examples_dir, tmp_path)

    result = runner.invoke(app, ["lint", str(root)])

    assert result.exit_code == 1
    expected = (
        f"{root / 'purposes.yaml'}:{number} legal-basis-not-available purpose 'customer-relationship' relies on "
        "deemed_consent which GDPR (gdpr-no) does not provide; available: consent, contract"
    )
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), result.stdout
    assert "2 error(s), 1 warning(s)" in result.stderr  # deemed consent also lacks a withdrawal method


def test_lint_json_lists_each_finding_with_its_place_and_reference(examples_dir: Path, tmp_path: Path) -> None:
    root, number = _broken_copy(examples_dir, tmp_path)

    result = runner.invoke(app, ["lint", str(root), "--format", "json"])

    assert result.exit_code == 1
    findings = json.loads(result.stdout)
    [error] = [f for f in findings if f["rule"] == "legal-basis-not-available"]
    assert error["file"].endswith("purposes.yaml")
    assert error["line"] == number
    assert error["path"] == "purposes[0].legal_basis"
    assert error["severity"] == "error"
    assert error["reference"] == "GDPR Art. 6(1); PDPA s. 13-17"
    assert "deemed_consent" in error["message"]


def test_warnings_are_printed_but_do_not_fail(examples_dir: Path) -> None:
    result = runner.invoke(app, ["lint", str(examples_dir / "nexalearn"), "--format", "json"])
    findings = json.loads(result.stdout)
    assert findings and {f["severity"] for f in findings} == {"warning"}
    assert result.exit_code == 0


def test_an_invalid_declaration_prints_its_validation_errors_and_fails(examples_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    purposes = root / "purposes.yaml"
    purposes.write_text(purposes.read_text(encoding="utf-8").replace("legal_basis: contract", "legal_basis: x", 1))

    result = runner.invoke(app, ["lint", str(root)])

    assert result.exit_code == 1
    assert "purposes[0].legal_basis: 'x' is not one of" in result.stderr
    assert "not a valid declaration" in result.stderr


def test_list_rules_prints_every_rule_with_its_reference() -> None:
    result = runner.invoke(app, ["lint", "--list-rules"])
    assert result.exit_code == 0
    for rule in RULES:
        assert any(line.startswith(rule.id) and rule.reference in line for line in result.stdout.splitlines())


def test_list_rules_as_json() -> None:
    rules = json.loads(runner.invoke(app, ["lint", "--list-rules", "--format", "json"]).stdout)
    assert [r["id"] for r in rules] == [r.id for r in RULES]
    assert {"id", "severity", "reference", "summary"} == set(rules[0])


def test_lint_without_a_path_says_what_it_needs() -> None:
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 2
    assert "PATH" in result.stderr


def test_lint_json_reports_a_declaration_that_does_not_load_as_json(examples_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "syntax"
    shutil.copytree(examples_dir / "nexalearn", broken)
    (broken / "purposes.yaml").write_text("purposes:\n  - id: [unclosed\n", encoding="utf-8")
    invalid = tmp_path / "schema"
    shutil.copytree(examples_dir / "nexalearn", invalid)
    text = (invalid / "purposes.yaml").read_text(encoding="utf-8")
    (invalid / "purposes.yaml").write_text(text.replace("legal_basis:", "legal_bass:", 1), encoding="utf-8")
    cases = {broken: "yaml-syntax", invalid: "schema", tmp_path / "missing": "yaml-syntax"}
    for path, rule in cases.items():
        result = runner.invoke(app, ["lint", str(path), "--format", "json"])
        assert result.exit_code == 1, result.output
        problems = json.loads(result.stdout)
        assert problems, path
        assert {p["rule"] for p in problems} == {rule}, problems
        assert all(p["severity"] == "error" and p["file"].startswith(str(path)) for p in problems)
        assert set(problems[0]) == {"file", "line", "path", "rule", "severity", "message", "reference"}
    schema = json.loads(runner.invoke(app, ["lint", str(invalid), "--format", "json"]).stdout)
    assert any("legal_bass" in p["path"] or "legal_bass" in p["message"] for p in schema), schema
    assert all(isinstance(p["line"], int) for p in schema)
