"""The daily reminder warns of breach clocks near or past due; the controller's time zone is its declared one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from breach_drafts import draft
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dataright.breach import clocks, service
from dataright.breach.models import Risk
from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.declarations.schema import Declaration
from dataright.errors import ValidationFailed
from dataright.mail.models import OutboxMessage
from dataright.mail.render import render
from dataright.storage.migrate import upgrade
from dataright.storage.types import utcnow
from fixtures.db import TEST_SECRET

runner = CliRunner()


def test_controller_timezone_is_the_declared_one(nexalearn: Declaration) -> None:
    controller = nexalearn.controller_by_id["nexalearn"]
    assert service.controller_timezone(controller) == "Europe/Oslo"
    moved = controller.model_copy(update={"timezone": "Europe/Stockholm"})
    assert service.controller_timezone(moved) == "Europe/Stockholm"  # the declaration wins over the country
    with pytest.raises(ValidationFailed, match="declare its time zone"):
        service.controller_timezone(controller.model_copy(update={"timezone": None}))


def test_clocks_near_or_past_due_are_warned_and_mailed_to_the_privacy_contact_once_a_day(
    session: Session, settings: Settings, nexalearn: Declaration
) -> None:
    now = utcnow()
    (late,) = service.open_incident(
        session,
        nexalearn,
        "nexalearn",
        draft(occurred_at=now - timedelta(days=5), aware_at=now - timedelta(days=4)),
        actor="t",
    )
    (soon,) = service.open_incident(
        session,
        nexalearn,
        "nexalearn",
        draft(occurred_at=now - timedelta(hours=60), aware_at=now - timedelta(hours=60)),
        actor="t",
    )
    (done,) = service.open_incident(
        session,
        nexalearn,
        "nexalearn",
        draft(occurred_at=now - timedelta(hours=10), aware_at=now - timedelta(hours=10)),
        actor="t",
    )
    service.assess(session, done.id, service.Assessment(risk=Risk.unlikely, reason="encrypted disk"), actor="t")
    warnings = service.clock_warnings(session, controller_id="nexalearn", within=timedelta(days=1), now=now)
    by_breach = {(w.breach_reference, w.clock): w for w in warnings}
    assert by_breach[(late.reference, clocks.Clock.authority)].state is clocks.ClockState.overdue
    assert by_breach[(soon.reference, clocks.Clock.authority)].state is clocks.ClockState.due_soon
    assert not any(w.breach_reference == done.reference for w in warnings)  # not notifiable: nothing due
    assert all(w.due.utcoffset() in (timedelta(hours=1), timedelta(hours=2)) for w in warnings)  # Oslo time
    sent = service.remind(session, declaration=nexalearn, controller_id="nexalearn", within=timedelta(days=1), now=now)
    service.remind(session, declaration=nexalearn, controller_id="nexalearn", within=timedelta(days=1), now=now)
    assert len(sent) == len(warnings)
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.template == "breach_reminder", OutboxMessage.controller_id == "nexalearn"
        )
    ).all()
    today = now.astimezone(nexalearn.controller_by_id["nexalearn"].zone).date()  # the controller's day, not UTC's
    assert len([r for r in rows if r.dedupe_key.endswith(today.isoformat())]) == 1


def test_the_breach_reminder_reads_in_norwegian() -> None:
    context = {
        "controller_name": "NexaLearn AS",
        "clocks": [
            {"breach_reference": "BR-1", "clock": "authority", "due": "2026-11-30T19:30+01:00", "state": "overdue"}
        ],
    }
    mail = render("breach_reminder", "nb", context)
    assert "BR-1: melde bruddet til tilsynsmyndigheten, frist 30. november 2026 19:30 (UTC+01:00)" in mail.text
    assert "over fristen" in mail.text
    with pytest.raises(ValidationFailed, match="unknown clock 'coffee'"):
        render("breach_reminder", "nb", {**context, "clocks": [{**context["clocks"][0], "clock": "coffee"}]})


@pytest.fixture
def configured(fresh_db_url: str, examples_dir: Path) -> Iterator[Path]:
    upgrade(fresh_db_url)
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET, declarations=[examples_dir / "nexalearn"]))
    yield examples_dir
    use_settings(None)


def test_requests_remind_also_warns_of_breach_clocks(configured: Path) -> None:
    aware = (datetime.now().astimezone() - timedelta(days=4)).isoformat(timespec="minutes")
    occurred = (datetime.now().astimezone() - timedelta(days=5)).isoformat(timespec="minutes")
    nexalearn = str(configured / "nexalearn")
    opened = runner.invoke(
        app,
        [
            "breach", "open", "-c", "nexalearn", "-d", nexalearn, "--occurred", occurred, "--aware", aware,
            "--system", "scanditek", "--category", "user.contact.email", "--people", "3",
            "--description", "lost laptop", "--consequences", "phishing", "--measures", "wiped",
        ],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    reference = next(line.split()[1] for line in opened.output.splitlines() if line.startswith("opened"))
    reminded = runner.invoke(app, ["requests", "remind", "--controller", "nexalearn", "-d", nexalearn])
    assert reminded.exit_code == 0, reminded.output
    assert f"warning: breach {reference} (nexalearn): authority due" in reminded.output
    assert "[overdue]" in reminded.output and "1 breach clock(s) near or past due" in reminded.output
