"""`dataright requests deadline` as staff and auditors run it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dataright.cli.main import app

runner = CliRunner()


def test_deadline_prints_statutory_promised_and_binding_dates(examples_dir: Path, tmp_path: Path) -> None:
    # NexaLearn promises no extension ("senest innen 30 dager"); a copy that declares two more months shows the limit.
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    organisation = root / "organisation.yaml"
    text = organisation.read_text(encoding="utf-8")
    organisation.write_text(text.replace("  response_time: P30D", "  extension: P2M\n  response_time: P30D", 1))
    result = runner.invoke(
        app,
        ["requests", "deadline", "--controller", "nexalearn", "--received", "2026-03-02", "--type", "access",
         "--declarations", str(root)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "2026-04-07" in lines["statutory"]
    assert "2026-04-01" in lines["promised"]
    assert "2026-04-01" in lines["binding"]
    assert "2026-06-01" in result.output  # the extension limit: 30 days + two months


def test_deadline_as_json_for_a_pdpa_controller(examples_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["requests", "deadline", "-c", "nestpros", "--received", "2026-07-03", "--json",
         "-d", str(examples_dir / "nestpros")],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["statutory"] == "2026-08-03"  # day 30 is a Sunday
    assert out["promised"] == "2026-08-02"
    assert out["binding"] == "2026-08-02"
    assert out["extension_limit"] is None
    assert out["timezone"] == "Asia/Singapore"


def test_deadline_takes_a_timestamp_on_the_controllers_clock(examples_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["requests", "deadline", "-c", "provendo-as", "--received", "2026-01-30T23:30:00Z", "--json",
         "-d", str(examples_dir / "nestit-group")],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["received"] == "2026-01-31"


def test_deadline_refuses_bad_input_naming_the_flag(examples_dir: Path) -> None:
    declarations = ["-d", str(examples_dir / "nestpros")]
    cases = [
        (["-c", "nestpros", "--received", "2026-02-30"], "--received '2026-02-30'"),
        (["-c", "nestpros", "--received", "2026-03-01T10:00"], "needs its offset"),
        (["-c", "nexalearn", "--received", "2026-03-01"], "--controller nexalearn"),
        (["-c", "nestpros", "--received", "2026-03-01", "--type", "automated_decisions"], "does not offer"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["requests", "deadline", *args, *declarations])
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
