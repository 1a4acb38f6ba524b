"""``dataright serve``'s default: the app runs jobs itself (worker threads started and stopped with it)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.jobs import service
from dataright.jobs.models import Job, JobSchedule
from dataright.storage.engine import session_scope
from dataright.web.app import create_app
from fixtures import jobkinds

from .conftest import eventually


def test_the_server_runs_jobs_and_its_schedules_in_process_by_default(
    jobs_settings: Settings, factory: sessionmaker[Session]
) -> None:
    settings = jobs_settings.model_copy(
        update={"jobs_runner": "inprocess", "jobs_poll_seconds": 0.2, "job_modules": ["fixtures.jobkinds"]}
    )
    assert Settings.model_fields["jobs_runner"].default == "inprocess"
    tag = uuid.uuid4().hex
    app = create_app(settings, DeclarationRegistry([]))
    with TestClient(app):
        with session_scope(factory) as session:
            job_id = service.enqueue(session, "test.effect", {"tag": tag})

        def done() -> bool:
            with session_scope(factory, write=False) as session:
                job = session.get(Job, job_id)
                return job is not None and job.state == "succeeded"

        eventually(done, what="the server running the job")

        def mail_fired() -> bool:
            with session_scope(factory, write=False) as session:
                row = session.get(JobSchedule, "mail.send")
                return row is not None and row.fired >= 1

        eventually(mail_fired, what="the server firing the mail schedule")
    assert jobkinds.count(factory, tag) == 1
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.lease_owner is None and job.created_by == "system"


def test_a_server_with_jobs_off_runs_none(jobs_settings: Settings, factory: sessionmaker[Session]) -> None:
    settings = jobs_settings.model_copy(update={"jobs_runner": "off", "job_modules": ["fixtures.jobkinds"]})
    tag = uuid.uuid4().hex
    with TestClient(create_app(settings, DeclarationRegistry([]))) as client:
        with session_scope(factory) as session:
            job_id = service.enqueue(session, "test.effect", {"tag": tag})
        assert client.get("/healthz").status_code == 200
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == "queued"
        service.cancel(session, job, actor="test")  # leaves no live job behind for the module's other tests
