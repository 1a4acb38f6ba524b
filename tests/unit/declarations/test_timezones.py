"""A controller's time zone: declared by IANA name, or the only zone of its country."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dataright.declarations.loader import load
from dataright.declarations.schema import Declaration
from dataright.errors import DeclarationInvalid


def _nexalearn_with(examples_dir: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    organisation = root / "organisation.yaml"
    text = organisation.read_text(encoding="utf-8")
    assert old in text
    organisation.write_text(text.replace(old, new, 1), encoding="utf-8")
    marker = new.splitlines()[-1].strip()
    line = next(n for n, ln in enumerate(text.replace(old, new, 1).splitlines(), 1) if ln.strip() == marker)
    return root, line


def test_each_example_controller_gets_its_countrys_zone(nexalearn: Declaration, nestit: Declaration) -> None:
    assert nexalearn.controller_by_id["nexalearn"].timezone == "Europe/Oslo"
    assert nestit.controller_by_id["nestit-group-ab"].timezone == "Europe/Stockholm"
    assert nestit.controller_by_id["provendo-as"].zone.key == "Europe/Oslo"


def test_a_declared_zone_wins_over_the_country(examples_dir: Path, tmp_path: Path) -> None:
    root, _ = _nexalearn_with(
        examples_dir, tmp_path, "jurisdiction: gdpr-no\n", "jurisdiction: gdpr-no\n    timezone: UTC\n"
    )

    assert load(root).declaration.controller_by_id["nexalearn"].timezone == "UTC"


def test_a_misspelt_zone_is_reported_at_its_file_line_with_a_suggestion(examples_dir: Path, tmp_path: Path) -> None:
    root, line = _nexalearn_with(
        examples_dir, tmp_path, "jurisdiction: gdpr-no\n", "jurisdiction: gdpr-no\n    timezone: Europe/Olso\n"
    )

    with pytest.raises(DeclarationInvalid) as caught:
        load(root)

    [problem] = caught.value.problems
    assert problem.file.endswith("organisation.yaml")
    assert problem.line == line
    assert problem.path == "controllers[0].timezone"
    assert "'Europe/Olso' is not an IANA time zone" in problem.message
    assert "did you mean 'Europe/Oslo'" in problem.message


def test_a_country_with_several_zones_must_declare_one(examples_dir: Path, tmp_path: Path) -> None:
    root, _ = _nexalearn_with(examples_dir, tmp_path, 'country: "NO"\n', "country: US\n")
    text = (root / "organisation.yaml").read_text(encoding="utf-8").splitlines()
    controller_line = text.index("  - id: nexalearn") + 1

    with pytest.raises(DeclarationInvalid) as caught:
        load(root)

    [problem] = caught.value.problems
    assert problem.file.endswith("organisation.yaml")
    assert problem.line == controller_line
    assert problem.path == "controllers[0]"
    assert "country US has no single time zone" in problem.message
    assert "declare timezone" in problem.message
