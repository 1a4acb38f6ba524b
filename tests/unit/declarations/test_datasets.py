"""Dataset declarations load with the rest of a declaration; mistakes are named at file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dataright.declarations.lint.registry import rule_by_id
from dataright.declarations.loader import load
from dataright.declarations.schema import Declaration
from dataright.errors import DeclarationError


def _copy(examples_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    return root


def test_nexalearn_declares_its_platform_database_without_the_secret(nexalearn: Declaration) -> None:
    dataset = nexalearn.dataset_by_id["nexalearn-platform"]
    assert dataset.url == "${NEXALEARN_DB_URL}"
    invoices = dataset.table_by_name["invoices"]
    assert invoices.field_by_name["amount_cents"].legal_hold == "bookkeeping-no"
    assert invoices.hold_from == "issued_on"


def test_an_unknown_erasure_strategy_is_named_at_its_line(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    path = root / "datasets.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("strategy: pseudonymise}", "strategy: scramble}", 1))

    with pytest.raises(DeclarationError) as caught:
        load(root)

    problem = str(caught.value)
    assert "datasets.yaml:" in problem and "datasets[0].tables[4].fields[1].erasure.strategy" in problem
    assert "'scramble' is not one of" in problem


def test_a_reference_to_an_undeclared_table_and_a_typo_are_errors(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    path = root / "datasets.yaml"
    text = path.read_text(encoding="utf-8").replace("field: enrollments.id", "field: enrolments.id")
    path.write_text(text.replace("hold_from: paid_on", "hold_form: paid_on"), encoding="utf-8")

    with pytest.raises(DeclarationError) as caught:
        load(root)

    problems = [str(p) for p in caught.value.problems]
    assert any("datasets[0].tables[4].hold_form: unknown field" in p for p in problems)


def test_datasets_may_live_one_file_each_in_a_datasets_folder(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    (root / "datasets").mkdir()
    (root / "datasets.yaml").rename(root / "datasets" / "platform.yaml")

    assert load(root).declaration.dataset_by_id["nexalearn-platform"].tables


def test_a_dataset_field_whose_category_no_purpose_declares_is_a_lint_error(nexalearn: Declaration) -> None:
    data = nexalearn.model_dump(mode="json", exclude_unset=True)
    data["datasets"][0]["tables"][0]["fields"].append(
        {"name": "religion", "data_categories": ["user.religious_belief"]}
    )
    changed = Declaration.model_validate(data)

    findings = list(rule_by_id("dataset-category-without-purpose").check(changed, None))  # type: ignore[arg-type]

    assert [f.message for f in findings] == [
        "nexalearn-platform.customers.religion holds user.religious_belief, which no purpose of nexalearn declares"
    ]


def test_every_category_nexalearn_declares_is_held_by_its_platform_or_its_cookies(nexalearn: Declaration) -> None:
    findings = list(rule_by_id("category-in-no-dataset").check(nexalearn, None))  # type: ignore[arg-type]
    assert findings == []  # what cookies collect is declared under cookies, the rest is in the platform


def test_a_purpose_category_no_dataset_holds_is_a_lint_warning(nexalearn: Declaration) -> None:
    data = nexalearn.model_dump(mode="json", exclude_unset=True)
    data["datasets"][0]["tables"] = [t for t in data["datasets"][0]["tables"] if t["name"] != "web_events"]
    changed = Declaration.model_validate(data)

    findings = list(rule_by_id("category-in-no-dataset").check(changed, None))  # type: ignore[arg-type]

    assert [f.path for f in findings] == [
        ("purposes", 7, "data_categories", 1),
        ("purposes", 8, "data_categories", 0),
        ("purposes", 8, "data_categories", 1),
    ]
    assert "purpose 'security' processes user.device.ip_address but no dataset field" in findings[1].message
