"""``dataright breach deadline|open|assess|notify|list|show`` against a real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET

runner = CliRunner()


@pytest.fixture
def configured(fresh_db_url: str, examples_dir: Path) -> Iterator[Path]:
    upgrade(fresh_db_url)
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET))
    yield examples_dir
    use_settings(None)


def test_breach_deadline_prints_the_72_hours_in_oslo_time_and_records_nothing(examples_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "breach",
            "deadline",
            "--controller",
            "nexalearn",
            "--aware",
            "2026-03-27T20:00+01:00",
            "-d",
            str(examples_dir / "nexalearn"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "authority: 2026-03-30T21:00:00+02:00" in result.output
    assert "(Art. 33(1); 72 hours of elapsed time from awareness)" in result.output


def test_breach_deadline_for_pdpa_after_the_assessment(examples_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "breach",
            "deadline",
            "--controller",
            "nestpros",
            "--aware",
            "2026-12-01T09:00+08:00",
            "--assessed",
            "2026-12-02",
            "-d",
            str(examples_dir / "nestpros"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "assessment: 2026-12-31T23:59:59+08:00" in result.output
    assert "authority: 2026-12-05T23:59:59+08:00" in result.output


def test_breach_deadline_refuses_a_time_without_offset(examples_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["breach", "deadline", "-c", "nexalearn", "--aware", "2026-03-27T20:00", "-d", str(examples_dir / "nexalearn")],
    )
    assert result.exit_code == 1 and "--aware '2026-03-27T20:00': give the UTC offset" in result.output


def test_open_assess_notify_list_show(configured: Path, tmp_path: Path) -> None:
    nestit = str(configured / "nestit-group")
    opened = runner.invoke(
        app,
        [
            "breach",
            "open",
            "-c",
            "nestit-group-ab",
            "-d",
            nestit,
            "--occurred",
            "2026-11-27T17:00+01:00",
            "--aware",
            "2026-11-27T19:30+01:00",
            "--system",
            "crm",
            "--category",
            "user.contact.email",
            "--people",
            "2500",
            "--estimated",
            "--description",
            "CRM export exposed",
            "--consequences",
            "phishing",
            "--measures",
            "export revoked",
        ],
    )
    assert opened.exit_code == 0, opened.output
    references = [line.split()[1] for line in opened.output.splitlines() if line.startswith("opened")]
    assert len(references) == 2  # the CRM is shared: one record for each company
    assessed = runner.invoke(app, ["breach", "assess", references[1], "--risk", "high", "--on", "2026-11-28"])
    assert assessed.exit_code == 0, assessed.output
    assert "notifiable=True individuals=True" in assessed.output
    document = runner.invoke(app, ["breach", "notify", references[1], "--document", "md", "-d", nestit])
    assert document.exit_code == 0, document.output
    assert "Til: Datatilsynet" in document.output  # Provendo AS answers to the Norwegian authority, in Norwegian
    sent = runner.invoke(
        app, ["breach", "notify", references[1], "--authority-sent", "2026-11-29T10:00+01:00", "-d", nestit]
    )
    assert sent.exit_code == 0 and "authority submission 1 recorded" in sent.output
    listed = runner.invoke(app, ["breach", "list"])
    assert listed.exit_code == 0 and references[0] in listed.output and "notified" in listed.output
    shown = runner.invoke(app, ["breach", "show", references[0]])
    assert shown.exit_code == 0 and f"linked: {references[1]} (provendo-as)" in shown.output
    bad = runner.invoke(app, ["breach", "assess", references[1], "--risk", "risk"])
    assert bad.exit_code == 1 and "cannot come after the notification" in bad.output


def test_open_refuses_bad_input_and_records_nothing(configured: Path) -> None:
    result = runner.invoke(
        app,
        [
            "breach",
            "open",
            "-c",
            "nexalearn",
            "-d",
            str(configured / "nexalearn"),
            "--occurred",
            "2026-11-27T17:00+01:00",
            "--aware",
            "2026-11-27T19:30+01:00",
            "--system",
            "scanditek",
            "--category",
            "user.name",
            "--people",
            "-3",
            "--description",
            "x",
            "--consequences",
            "y",
            "--measures",
            "z",
        ],
    )
    assert result.exit_code == 1 and "affected_people: negative" in result.output
    assert "BR-" not in runner.invoke(app, ["breach", "list"]).output
