"""Loading declarations: merging files, keeping file:line, and naming every bad place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dataright.declarations.loader import load
from dataright.declarations.schema import Declaration
from dataright.errors import DeclarationInvalid, DeclarationSyntaxError


def _copy(examples_dir: Path, tmp_path: Path, name: str = "nexalearn") -> Path:
    target = tmp_path / name
    shutil.copytree(examples_dir / name, target)
    return target


def _line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_every_example_loads(example) -> None:
    assert example.declaration.purposes


def test_misspelt_legal_basis_is_reported_at_its_file_line_and_path(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    purposes = root / "purposes.yaml"
    text = purposes.read_text(encoding="utf-8")
    purposes.write_text(text.replace("legal_basis: consent", "legal_basis: consnet", 1), encoding="utf-8")
    line = _line_of(purposes, "legal_basis: consnet")
    index = sum(1 for ln in text.splitlines()[:line] if ln.startswith("  - id: ")) - 1

    with pytest.raises(DeclarationInvalid) as caught:
        load(root)

    [problem] = caught.value.problems
    assert problem.file.endswith("purposes.yaml")
    assert problem.line == line
    assert problem.path == f"purposes[{index}].legal_basis"
    assert "'consnet' is not one of" in problem.message
    assert "did you mean 'consent'" in problem.message


def test_path_is_local_to_the_file_when_a_section_spans_files(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    (root / "zz-extra.yaml").write_text(
        "retention_rules:\n  - id: extra\n    description: {en: x}\n    duration: P1Q\n    trigger: collection\n",
        encoding="utf-8",
    )
    with pytest.raises(DeclarationInvalid) as caught:
        load(root)
    [problem] = caught.value.problems
    assert (problem.file.endswith("zz-extra.yaml"), problem.line, problem.path) == (
        True,
        4,
        "retention_rules[0].duration",
    )


def test_unknown_reference_suggests_the_close_id(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    purposes = root / "purposes.yaml"
    purposes.write_text(purposes.read_text(encoding="utf-8").replace("[stripe, ", "[strpe, ", 1), encoding="utf-8")
    with pytest.raises(DeclarationInvalid) as caught:
        load(root)
    [problem] = caught.value.problems
    assert problem.line == _line_of(purposes, "[strpe, ")
    assert "unknown system or recipient 'strpe' (did you mean 'stripe'?)" in problem.message


def test_an_unknown_jurisdiction_is_a_validation_error_at_its_line(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    organisation = root / "organisation.yaml"
    text = organisation.read_text(encoding="utf-8").replace("jurisdiction: gdpr-no", "jurisdiction: gdpr-nor", 1)
    organisation.write_text(text, encoding="utf-8")
    with pytest.raises(DeclarationInvalid) as caught:
        load(root)
    [problem] = caught.value.problems
    assert (problem.file.endswith("organisation.yaml"), problem.line) == (True, _line_of(organisation, "gdpr-nor"))
    assert problem.path == "controllers[0].jurisdiction"
    assert "unknown jurisdiction 'gdpr-nor' (did you mean 'gdpr-no'?)" in problem.message


def test_unknown_field_is_an_error(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    org = root / "organisation.yaml"
    org.write_text(
        org.read_text(encoding="utf-8").replace("  website: https", "  websight: https", 1), encoding="utf-8"
    )
    with pytest.raises(DeclarationInvalid) as caught:
        load(root)
    assert caught.value.problems[0].path == "organisation.websight"
    assert caught.value.problems[0].line == _line_of(org, "websight")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organisation:\n  id: x\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(DeclarationSyntaxError) as caught:
        load(bad)
    assert caught.value.problems[0].line is not None


def test_duplicate_keys_are_errors_not_silent_overrides(tmp_path: Path) -> None:
    bad = tmp_path / "dup.yaml"
    bad.write_text("organisation:\n  id: x\n  id: y\n", encoding="utf-8")
    with pytest.raises(DeclarationSyntaxError) as caught:
        load(bad)
    assert (caught.value.problems[0].line, caught.value.problems[0].path) == (3, "organisation.id")


def test_norway_stays_a_country_code_not_false(nexalearn) -> None:
    assert nexalearn.controllers[0].country == "NO"


def test_singleton_section_in_two_files_is_rejected(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    (root / "zz-notice.yaml").write_text("notice:\n  version: '2'\n  effective_date: 2025-01-01\n", encoding="utf-8")
    with pytest.raises(DeclarationSyntaxError) as caught:
        load(root)
    assert "already declared in" in caught.value.problems[0].message


def test_a_copy_with_other_controllers_looks_up_the_new_ones_not_the_originals(nexalearn: Declaration) -> None:
    assert "nexalearn" in nexalearn.controller_by_id  # the original has worked out (and cached) its lookup
    moved = nexalearn.controllers[0].model_copy(update={"fiscal_year_end": "06-30"})

    copy = nexalearn.model_copy(update={"controllers": (moved, *nexalearn.controllers[1:])})

    assert copy.controller_by_id[moved.id].fiscal_year_end == "06-30"
    assert nexalearn.controller_by_id[moved.id].fiscal_year_end != "06-30"
