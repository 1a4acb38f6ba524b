"""``dataright retention plan|run`` as a user runs them, on NexaLearn's platform database in SQLite."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from typer.testing import CliRunner

from dataright.cli.main import app
from fixtures.elearning import PEOPLE, TODAY, populate
from functional.dsr_engine.conftest import snapshot

from .conftest import audit_entries, execute

runner = CliRunner()


@pytest.fixture
def platform(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'platform.sqlite3'}"
    engine = create_engine(url)
    try:
        populate(engine)
    finally:
        engine.dispose()
    execute(
        url,
        ("UPDATE customers SET relationship_ended_on = :d WHERE id = 1", {"d": TODAY - timedelta(days=200)}),
        ("UPDATE customers SET relationship_ended_on = :d WHERE id = 10", {"d": TODAY - timedelta(days=20)}),
    )
    return url


def _invoke(args: list[str], url: str, declarations: Path) -> object:
    return runner.invoke(
        app,
        ["retention", *args, "--controller", "nexalearn", "--declarations", str(declarations)],
        env={"NEXALEARN_DB_URL": url},
    )


def test_plan_counts_per_rule_table_action_and_hold_and_changes_nothing(
    platform: str, examples_dir: Path, dataright_db: Engine
) -> None:
    before = snapshot(platform)

    result = _invoke(["plan", "--format", "json"], platform, examples_dir / "nexalearn")

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    plan = json.loads(result.stdout)  # type: ignore[attr-defined]
    lines = {(x["rule"], x["table"], x["action"], x["kept_by"]): x["rows"] for x in plan["lines"]}
    assert lines[("account-closure-6m", "customers", "delete", None)] == 1
    assert lines[("account-closure-6m", "customers", "deactivate", None)] == 1
    assert lines[("account-closure-6m", "invoices", "erase (held)", "bookkeeping-no (bokføringsloven § 13, P5Y)")] == 2
    assert lines[("statistics-anonymise", "web_events", "anonymise", None)] > 0
    assert snapshot(platform) == before
    assert audit_entries(dataright_db) == []


def test_run_does_what_the_plan_said_and_a_second_plan_is_empty(
    platform: str, examples_dir: Path, dataright_db: Engine
) -> None:
    planned = json.loads(_invoke(["plan", "--format", "json"], platform, examples_dir / "nexalearn").stdout)  # type: ignore[attr-defined]

    result = _invoke(["run", "--format", "json", "--batch-size", "50"], platform, examples_dir / "nexalearn")

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    done = json.loads(result.stdout)  # type: ignore[attr-defined]
    # each rule is counted as if it ran alone: the first rule's deletions leave the later ones fewer rows
    first = [(x["table"], x["action"], x["rows"]) for x in planned["lines"] if x["rule"] == "account-closure-6m"]
    assert [(x["table"], x["action"], x["rows"]) for x in done["lines"] if x["rule"] == "account-closure-6m"] == first
    assert all(d["rows"] <= p["rows"] for d, p in zip(done["lines"], planned["lines"], strict=True))
    after = snapshot(platform)
    assert PEOPLE.gunnhild not in after["customers"] and after["customers"][10]["visible_to"] == "owner"
    again = json.loads(_invoke(["plan", "--format", "json"], platform, examples_dir / "nexalearn").stdout)  # type: ignore[attr-defined]
    assert all(x["rows"] == 0 for x in again["lines"])
    actions = [e.action for e in audit_entries(dataright_db)]
    assert actions.count("retention.rule.completed") == 3 and actions[-1] == "retention.run.completed"


def _copy(examples_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    return root


def test_a_trigger_column_that_is_not_declared_is_refused_with_rule_and_line_and_nothing_runs(
    platform: str, examples_dir: Path, tmp_path: Path, dataright_db: Engine
) -> None:
    root = _copy(examples_dir, tmp_path)
    datasets = root / "datasets.yaml"
    text = datasets.read_text(encoding="utf-8").replace("column: relationship_ended_on", "column: closed_at", 1)
    datasets.write_text(text, encoding="utf-8")
    line = next(n for n, x in enumerate(text.splitlines(), start=1) if "column: closed_at" in x)
    before = snapshot(platform)

    result = _invoke(["run"], platform, root)

    assert result.exit_code == 1
    assert f"datasets.yaml:{line} account-closure-6m: trigger column 'closed_at'" in result.stderr  # type: ignore[attr-defined]
    assert "nothing was run" in result.stderr  # type: ignore[attr-defined]
    assert snapshot(platform) == before
    assert audit_entries(dataright_db) == []


def test_a_trigger_column_missing_from_the_live_table_is_refused(
    platform: str, examples_dir: Path, tmp_path: Path, dataright_db: Engine
) -> None:
    root = _copy(examples_dir, tmp_path)
    datasets = root / "datasets.yaml"
    text = datasets.read_text(encoding="utf-8")
    text = text.replace("column: relationship_ended_on", "column: closed_on", 1)
    text = text.replace(
        "          - {name: relationship_ended_on, rectifiable: false}\n",
        "          - {name: relationship_ended_on, rectifiable: false}\n          - {name: closed_on}\n",
        1,
    )
    datasets.write_text(text, encoding="utf-8")
    before = snapshot(platform)

    result = _invoke(["plan"], platform, root)

    assert result.exit_code == 1
    assert "account-closure-6m: trigger column 'closed_on' is not in the live table" in result.stderr  # type: ignore[attr-defined]
    assert snapshot(platform) == before
