"""Datasets that come from elsewhere drive requests: a Fides dataset file as it is, and a draft reflected from
a live database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.declarations.loader import load
from dataright.engine.graph import build_graph
from dataright.engine.service import Request
from fixtures.db import TEST_SECRET
from fixtures.elearning import PEOPLE

from .conftest import EngineFactory

ROOT = Path(__file__).resolve().parents[3]
FIDES_DEMO = ROOT / "tests" / "data" / "fides" / "demo_dataset.yml"
runner = CliRunner()


def _nexalearn_without_datasets(tmp_path: Path) -> Path:
    folder = tmp_path / "declaration"
    shutil.copytree(ROOT / "examples" / "nexalearn", folder)
    (folder / "datasets.yaml").unlink()
    (folder / "datasets").mkdir()
    return folder


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[None]:
    use_settings(Settings(database_url=f"sqlite:///{tmp_path / 'dataright.sqlite3'}", secret_key=TEST_SECRET))
    yield
    use_settings(None)


def test_fideslangs_demo_dataset_as_it_is_drives_an_access_request(
    tmp_path: Path, configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _nexalearn_without_datasets(tmp_path)
    shutil.copy(FIDES_DEMO, folder / "datasets" / "demo_dataset.yml")
    store = tmp_path / "users.sqlite3"
    engine = create_engine(f"sqlite:///{store}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE users (uuid TEXT PRIMARY KEY, email TEXT, first_name TEXT, state TEXT, "
                "food_preference TEXT, created_at TEXT)"
            )
        )
        conn.execute(
            text("INSERT INTO users VALUES (:u, :e, :n, 'OR', 'tacos', '2024-01-02')"),
            [
                {"u": "u-1", "e": "ada@example.org", "n": "Ada"},
                {"u": "u-2", "e": "bob@example.org", "n": "Bob"},
            ],
        )
    engine.dispose()
    monkeypatch.setenv("DEMO_USERS_DATASET_URL", f"sqlite:///{store}")
    out = tmp_path / "access.jsonl"

    result = runner.invoke(
        app,
        [
            "dsr",
            "access",
            "--controller",
            "nexalearn",
            "--email",
            "ada@example.org",
            "--declarations",
            str(folder),
            "--output",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["datastore"], r["table"], r["row"]["first_name"]) for r in rows] == [
        ("demo_users_dataset", "users", "Ada")
    ]


def test_import_fides_writes_a_reviewable_declaration(tmp_path: Path) -> None:
    target = tmp_path / "demo.yaml"
    result = runner.invoke(app, ["datasets", "import-fides", str(FIDES_DEMO), "--output", str(target)])
    assert result.exit_code == 0, result.output
    written = target.read_text()
    assert "identity: email  # review:" in written
    again = runner.invoke(app, ["datasets", "import-fides", str(FIDES_DEMO), "--output", str(target)])
    assert again.exit_code == 1 and "--force" in again.output


def test_import_fides_names_the_line_of_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("dataset:\n  - fides_key: x\n    collections:\n      - name: t\n        fields: nope\n")
    result = runner.invoke(app, ["datasets", "import-fides", str(broken)])
    assert result.exit_code == 1
    assert "broken.yml:5 dataset[0].collections[0].fields" in result.output


@pytest.mark.slow
def test_a_draft_reflected_from_the_live_database_finds_the_same_person(
    elearning_url: str, dsr_engine: EngineFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _nexalearn_without_datasets(tmp_path)
    monkeypatch.setenv("NEXALEARN_DB_URL", elearning_url)
    draft = folder / "datasets" / "elearning.yaml"

    result = runner.invoke(app, ["datasets", "generate", "${NEXALEARN_DB_URL}", "--id", "elearning", "-o", str(draft)])

    assert result.exit_code == 0, result.output
    written = draft.read_text()
    assert "web_events" in written.splitlines()[1]  # no foreign key reaches it: named, not drafted
    assert "identity: email  # review:" in written
    assert elearning_url.split("@")[-1] not in written  # the URL stays in the environment
    live = runner.invoke(app, ["datasets", "validate", str(folder), "--live"])
    assert live.exit_code == 0, live.output  # no guessed erasure breaks a NOT NULL, unique or foreign key
    loaded = load(folder)
    (dataset,) = loaded.declaration.datasets
    graph = build_graph(loaded.declaration.datasets_of("nexalearn"), ["email"], require_all=False)
    assert {r.table for r in graph.order} >= {"customers", "enrollments", "invoices", "support_messages"}
    assert dataset.table_by_name["customers"].field_by_name["email"].erasure is not None

    drafted = dsr_engine(elearning_url)
    drafted.declaration = loaded.declaration
    counts: dict[str, int] = {}
    for section in drafted.access(Request("access", "nexalearn", {"email": PEOPLE.gunnhild_email})):
        counts[section.table] = counts.get(section.table, 0) + len(section.rows)
    reference = dsr_engine(elearning_url)
    expected: dict[str, int] = {}
    for section in reference.access(Request("access", "nexalearn", {"email": PEOPLE.gunnhild_email})):
        expected[section.table] = expected.get(section.table, 0) + len(section.rows)
    assert counts["customers"] == 1
    # the draft reaches every table the hand-written declaration reaches over foreign keys, with the same rows
    assert {t: n for t, n in counts.items() if t in expected} == {t: n for t, n in expected.items() if t in counts}
    assert set(expected) - set(counts) <= {"web_events"}


def test_generate_refuses_a_url_it_cannot_open() -> None:
    result = runner.invoke(app, ["datasets", "generate", "nosuchdialect://x/y"])
    assert result.exit_code == 1
    assert "error:" in result.output
