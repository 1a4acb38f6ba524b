"""``dataright mail send|list|resolve`` against a real database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.config import Settings
from fixtures.mail_db import (
    enqueue_verifications,
    factory,
    install,
    installed,
    mail_settings,
    outbox_db,
    outbox_engine,
    rows,
)
from fixtures.smtp import SmtpServer

__all__ = ["factory", "installed", "outbox_db", "outbox_engine"]  # fixtures used by name below

runner = CliRunner()


def _counts(output: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[1] for line in output.splitlines() if len(line.split()) == 2}


def test_mail_send_in_demo_mode_writes_eml_files_and_list_counts_without_addresses(
    factory: sessionmaker[Session], outbox_db: str, tmp_path: Path, installed: list[Settings]
) -> None:
    folder = tmp_path / "outbox"
    install(installed, mail_settings(outbox_db, demo=True, mail_dir=folder))
    enqueue_verifications(factory, 3, language="nb")

    listed = runner.invoke(app, ["mail", "list"])
    assert listed.exit_code == 0, listed.output
    assert _counts(listed.output)["pending"] == "3"
    assert "@" not in listed.output

    sent = runner.invoke(app, ["mail", "send", "--once", "--batch", "2"])
    assert sent.exit_code == 0, sent.output
    assert f"sent 3 into {folder}" in sent.output
    assert len(list(folder.glob("*.eml"))) == 3

    after = runner.invoke(app, ["mail", "list"])
    counts = _counts(after.output)
    assert counts["sent"] == "3" and counts["pending"] == "0"
    assert "@" not in after.output


def test_mail_send_reports_a_refusing_server_and_list_names_the_failed_message(
    factory: sessionmaker[Session], outbox_db: str, smtp_server: SmtpServer, installed: list[Settings]
) -> None:
    install(installed, mail_settings(outbox_db, smtp_server, mail_max_attempts=1))
    (row_id,) = enqueue_verifications(factory, 1)
    smtp_server.refuse("451 4.3.0 later")
    sent = runner.invoke(app, ["mail", "send", "--once"])
    assert sent.exit_code == 1
    assert "1 failed" in sent.output
    listed = runner.invoke(app, ["mail", "list"])
    assert f"needs attention: {row_id}" in listed.output

    again = runner.invoke(app, ["mail", "resolve", str(row_id), "--not-delivered"])
    assert again.exit_code == 0, again.output
    assert rows(factory)[row_id].status == "pending"
    assert runner.invoke(app, ["mail", "send", "--once"]).exit_code == 0
    assert len(smtp_server.messages) == 1


def test_mail_resolve_refuses_a_bad_id_and_a_message_that_needs_no_decision(
    factory: sessionmaker[Session], outbox_db: str, installed: list[Settings]
) -> None:
    install(installed, mail_settings(outbox_db))
    (row_id,) = enqueue_verifications(factory, 1)
    bad = runner.invoke(app, ["mail", "resolve", "nope", "--delivered"])
    assert bad.exit_code == 1 and "OUTBOX_ID 'nope' is not a UUID" in bad.output
    pending = runner.invoke(app, ["mail", "resolve", str(row_id), "--delivered"])
    assert pending.exit_code == 1 and "is pending; only unknown can be resolved so" in pending.output
