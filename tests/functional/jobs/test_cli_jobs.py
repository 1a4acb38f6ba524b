"""``dataright jobs list|retry|cancel|run`` against a real database."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.config import Settings
from dataright.jobs import service
from dataright.jobs.models import Job
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow
from fixtures import jobkinds

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def _state(factory: sessionmaker[Session], job_id: uuid.UUID) -> str:
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.state


def test_jobs_list_cancel_retry_and_run_move_a_job_through_its_states(
    factory: sessionmaker[Session], jobs_settings: Settings
) -> None:
    tag = uuid.uuid4().hex
    with session_scope(factory) as session:
        job_id = service.enqueue(session, "test.effect", {"tag": tag}, run_after=utcnow() + timedelta(hours=1))

    listed = runner.invoke(app, ["jobs", "list", "--kind", "test.effect", "--state", "queued"], env=WIDE)
    assert listed.exit_code == 0, listed.output
    assert str(job_id) in listed.output and "0/3" in listed.output

    cancelled = runner.invoke(app, ["jobs", "cancel", str(job_id)])
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled" in cancelled.output and _state(factory, job_id) == "cancelled"

    again = runner.invoke(app, ["jobs", "cancel", str(job_id)])
    assert again.exit_code == 1
    assert "only a queued or waiting job can be cancelled" in again.output

    retried = runner.invoke(app, ["jobs", "retry", job_id.hex[:10]])
    assert retried.exit_code == 0, retried.output
    assert _state(factory, job_id) == "queued"

    ran = runner.invoke(app, ["jobs", "run", "--no-schedules", "--import", "fixtures.jobkinds"])
    assert ran.exit_code == 0, ran.output
    assert "succeeded" in ran.output
    assert _state(factory, job_id) == "succeeded" and jobkinds.count(factory, tag) == 1

    done = runner.invoke(app, ["jobs", "list", "--state", "succeeded", "--limit", "500"], env=WIDE)
    assert str(job_id) in done.output


def test_jobs_commands_name_a_bad_id_or_state_and_exit_non_zero(jobs_settings: Settings) -> None:
    bad = runner.invoke(app, ["jobs", "retry", "not-an-id"])
    assert bad.exit_code == 1 and "job id 'not-an-id'" in bad.output
    missing = runner.invoke(app, ["jobs", "cancel", uuid.uuid4().hex])
    assert missing.exit_code == 1 and "no job" in missing.output
    state = runner.invoke(app, ["jobs", "list", "--state", "bogus"])
    assert state.exit_code == 1 and "state 'bogus': expected one of" in state.output
    module = runner.invoke(app, ["jobs", "run", "--import", "no_such_module_here"])
    assert module.exit_code == 1 and "no_such_module_here" in module.output


def test_jobs_run_fires_the_built_in_schedules_once(jobs_settings: Settings, factory: sessionmaker[Session]) -> None:
    first = runner.invoke(app, ["jobs", "run"])
    assert first.exit_code == 0, first.output
    with session_scope(factory, write=False) as session:
        kinds = {
            job.kind
            for job in service.list_jobs(session, limit=1000)
            if job.created_by.startswith("schedule:") and job.state == "succeeded"
        }
    assert {"mail.send", "requests.remind", "requests.expire", "requests.fulfil_scan"} <= kinds
    second = runner.invoke(app, ["jobs", "run"])
    assert second.exit_code == 0
    assert "0 job(s) run" in second.output  # nothing is due again before its interval
