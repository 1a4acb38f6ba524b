"""Rectification and restriction on real databases: only the person's rows, values checked first. A refused
value is named as a correction (what staff read in a task's note when the job fails) and as ``--set`` by the
command line, and never quoted (it is personal data)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.engine.service import CorrectionRefused, Request
from dataright.errors import ValidationFailed
from fixtures.db import TEST_SECRET
from fixtures.elearning import PEOPLE

from .conftest import EngineFactory, snapshot

runner = CliRunner()


def test_a_corrected_phone_number_lands_on_her_row_only_and_a_bad_one_is_refused(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    engine = dsr_engine(fresh_elearning_url)
    before = snapshot(fresh_elearning_url)
    with pytest.raises(ValidationFailed, match=r"^correction customers\.phone: not a phone number"):
        engine.rectify(
            Request("rectify", "nexalearn", {"email": PEOPLE.astrid_email}, changes={"customers.phone": "x"})
        )

    outcome = engine.rectify(
        Request("rectify", "nexalearn", {"email": PEOPLE.astrid_email}, changes={"customers.phone": "+4791234567"})
    )

    after = snapshot(fresh_elearning_url)
    assert [s.rows for s in outcome.steps] == [1]
    assert after["customers"][PEOPLE.astrid]["phone"] == "+4791234567"
    assert {k: v for k, v in after["customers"].items() if k != PEOPLE.astrid} == {
        k: v for k, v in before["customers"].items() if k != PEOPLE.astrid
    }


def test_restriction_is_set_by_flag_and_side_table_and_lifted_again(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    engine = dsr_engine(fresh_elearning_url)
    before = snapshot(fresh_elearning_url)

    engine.restrict(Request("restrict", "nexalearn", {"email": PEOPLE.bjorn_email}))

    during = snapshot(fresh_elearning_url)
    assert during["customers"][PEOPLE.bjorn]["processing_restricted"] is True
    assert sum(1 for c in during["customers"].values() if c["processing_restricted"]) == 1
    mine = {k for k, m in before["support_messages"].items() if m["author_id"] == PEOPLE.bjorn}
    assert set(during["restricted_messages"]) == mine

    engine.restrict(Request("restrict", "nexalearn", {"email": PEOPLE.bjorn_email}, lift=True))

    assert snapshot(fresh_elearning_url) == before


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("customers.password_hash", "x", "not a field the person may correct"),
        ("nowhere.field", "x", "no table of the controller's datasets has this name"),
        ("customers.email", "astrid at home", "not an e-mail address"),
        ("customers.birth_date", "the fifth of May 1990", "expected a date (ISO 8601, e.g. 2026-12-07)"),
    ],
)
def test_a_refused_correction_names_the_field_and_the_problem_in_staff_terms_never_the_value(
    fresh_elearning_url: str, dsr_engine: EngineFactory, field: str, value: str, problem: str
) -> None:
    engine = dsr_engine(fresh_elearning_url)
    before = snapshot(fresh_elearning_url)

    with pytest.raises(CorrectionRefused) as refused:
        engine.rectify(Request("rectify", "nexalearn", {"email": PEOPLE.astrid_email}, changes={field: value}))

    assert str(refused.value) == f"correction {field}: {problem}"
    assert (refused.value.field, refused.value.problem) == (field, problem)
    assert "--set" not in str(refused.value) and value not in str(refused.value)
    assert snapshot(fresh_elearning_url) == before


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[None]:
    use_settings(Settings(database_url=f"sqlite:///{tmp_path / 'dataright.sqlite3'}", secret_key=TEST_SECRET))
    yield
    use_settings(None)


@pytest.mark.parametrize("fresh_elearning_url", ["postgresql"], indirect=True)
def test_the_command_line_names_a_refused_correction_by_its_set_flag(
    fresh_elearning_url: str, configured: None, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    before = snapshot(fresh_elearning_url)
    common = ["dsr", "rectify", "--controller", "nexalearn", "--email", PEOPLE.astrid_email]
    common += ["--declarations", str(examples_dir / "nexalearn")]

    phone = runner.invoke(app, [*common, "--set", "customers.phone=x"])
    hidden = runner.invoke(app, [*common, "--set", "customers.password_hash=x"])

    assert phone.exit_code == 1
    assert "error: --set customers.phone: not a phone number in international form" in phone.output
    assert hidden.exit_code == 1
    assert "error: --set customers.password_hash: not a field the person may correct" in hidden.output
    assert "correction" not in phone.output + hidden.output
    assert snapshot(fresh_elearning_url) == before
