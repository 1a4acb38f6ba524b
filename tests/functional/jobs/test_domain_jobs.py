"""The domain job kinds on both runners: each test here runs against the in-process runner and against
Dramatiq on the local Redis (``runner``), on SQLite and on PostgreSQL, like ``test_job_suite``.

* ``requests.fulfil``: an erasure, or a rectification with its corrected values, started in a committed
  transaction is carried out at once (the commit wakes the runner; no schedule is running) and its task ticked
  off.
* ``retention.sweep``: a controller's sweep deletes what is due in its datastore and records its run.
* ``cookies.scan``: a scan queued in a committed transaction crawls the site in Chromium and stores what it
  found once, under the job's id; a second delivery of the same job adds nothing.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from dataright.audit.models import AuditEntry
from dataright.cookies.models import CookieScan
from dataright.declarations.registry import DeclarationRegistry
from dataright.jobs import service
from dataright.jobs.fulfilment import start_work
from dataright.jobs.models import Job
from dataright.jobs.runtime import JobEnvironment
from dataright.jobs.tasks import cookie_scan_args
from dataright.requests import service as requests
from dataright.requests.models import RightsRequest
from dataright.storage.engine import session_scope
from fixtures.cookie_site import Variant, serve
from fixtures.demo import require_browser
from fixtures.elearning import PEOPLE
from fixtures.rights_requests import file_by_staff

from .conftest import Harness, eventually

NEXALEARN = "nexalearn"
NESTIT = "nestit-group-ab"


def _state(factory: sessionmaker[Session], job_id: uuid.UUID) -> str:
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.state


def _start(
    factory: sessionmaker[Session], registry: DeclarationRegistry, kind: str, corrections: dict[str, str] | None
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """File, verify and start a request of Gunnhild's in one committed transaction, as the API's start does."""
    declaration = registry.controller(NEXALEARN).declaration
    with session_scope(factory) as session:
        filed = file_by_staff(
            session,
            declaration,
            controller_id=NEXALEARN,
            kind=kind,
            email=PEOPLE.gunnhild_email,
            verified_reason="known caller",
            corrections=corrections,
        )
        requests.start(session, declaration=declaration, request=filed, actor="test")
        return filed.id, start_work(session, filed, actor="test")


def _tasks_done(factory: sessionmaker[Session], request_id: uuid.UUID) -> None:
    with session_scope(factory, write=False) as session:
        found = session.get(RightsRequest, request_id)
        assert found is not None
        datastore_tasks = [t for t in found.tasks if t.kind == "datastore"]
        assert datastore_tasks and all(t.status == "done" and t.done_by == "jobs" for t in datastore_tasks)


def _scalar(url: str, sql: str) -> object:
    datastore = create_engine(url)
    try:
        with datastore.connect() as connection:
            return connection.execute(text(sql), {"e": PEOPLE.gunnhild_email}).scalar()
    finally:
        datastore.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("fresh_elearning_url", ["postgresql"], indirect=True)
def test_an_erasure_started_in_a_committed_transaction_is_carried_out_at_once(
    runner: Harness,
    env: JobEnvironment,
    factory: sessionmaker[Session],
    examples_dir: Path,
    fresh_elearning_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    env.declarations = DeclarationRegistry.from_paths([examples_dir / "nexalearn"])
    request_id, job_id = _start(factory, env.declarations, "erasure", None)
    assert job_id is not None

    eventually(lambda: _state(factory, job_id) == "succeeded", what="the erasure job's success")

    _tasks_done(factory, request_id)
    assert _scalar(fresh_elearning_url, "SELECT count(*) FROM customers WHERE email = :e") == 0


@pytest.mark.slow
@pytest.mark.parametrize("fresh_elearning_url", ["postgresql"], indirect=True)
def test_a_rectification_started_with_its_corrected_values_is_applied_at_once(
    runner: Harness,
    env: JobEnvironment,
    factory: sessionmaker[Session],
    examples_dir: Path,
    fresh_elearning_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    env.declarations = DeclarationRegistry.from_paths([examples_dir / "nexalearn"])
    request_id, job_id = _start(factory, env.declarations, "rectification", {"customers.address": "Storgata 1, Oslo"})
    assert job_id is not None

    eventually(lambda: _state(factory, job_id) == "succeeded", what="the rectification job's success")

    _tasks_done(factory, request_id)
    assert _scalar(fresh_elearning_url, "SELECT address FROM customers WHERE email = :e") == "Storgata 1, Oslo"


def _scans(factory: sessionmaker[Session], scan_id: uuid.UUID) -> tuple[list[CookieScan], int]:
    with session_scope(factory, write=False) as session:
        rows = list(session.scalars(select(CookieScan).where(CookieScan.id == scan_id)))
        session.expunge_all()
        recorded = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "cookies.scan.recorded", AuditEntry.entity_id == str(scan_id))
        )
        return rows, int(recorded or 0)


def _wait_for_success(factory: sessionmaker[Session], job_id: uuid.UUID) -> None:
    eventually(lambda: _state(factory, job_id) == "succeeded", what="the cookie scan's success", timeout=120)


@pytest.mark.browser
def test_a_cookie_scan_job_stores_what_it_found_once(
    runner: Harness, env: JobEnvironment, factory: sessionmaker[Session], examples_dir: Path
) -> None:
    require_browser()
    env.declarations = DeclarationRegistry.from_paths([examples_dir / "nestit-group"])
    for site in serve(Variant(tracker=True, planted=True)):
        with session_scope(factory) as session:
            job_id = service.enqueue(session, "cookies.scan", cookie_scan_args(NESTIT, site.url, max_pages=3))

        _wait_for_success(factory, job_id)
        runner.redeliver(job_id, env)  # a duplicate message: the job is done, nothing runs again

    [scan], recorded = _scans(factory, job_id)
    assert recorded == 1
    assert scan.controller_id == NESTIT and scan.url == site.url and scan.pages >= 3
    findings = {(f["kind"], f["name"]) for f in scan.report["findings"]}
    assert ("undeclared", "planted_id") in findings and ("before-consent", "_gcl_au") in findings
    assert scan.violations == scan.report["violations"] >= 2
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.attempts == 1
        assert job.result == {
            "scan_id": str(job_id),
            "pages": scan.pages,
            "violations": scan.violations,
            "notices": scan.notices,
        }


@pytest.mark.slow
@pytest.mark.parametrize("fresh_elearning_url", ["postgresql"], indirect=True)
def test_a_retention_sweep_job_deletes_what_is_due_and_records_its_run(
    runner: Harness,
    env: JobEnvironment,
    factory: sessionmaker[Session],
    examples_dir: Path,
    fresh_elearning_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEXALEARN_DB_URL", fresh_elearning_url)
    env.declarations = DeclarationRegistry.from_paths([examples_dir / "nexalearn"])
    datastore = create_engine(fresh_elearning_url)
    try:
        with datastore.begin() as connection:
            connection.execute(
                text("UPDATE customers SET relationship_ended_on = :d WHERE id IN (5, 7)"), {"d": date(2000, 1, 1)}
            )
        with session_scope(factory) as session:
            job_id = service.enqueue(
                session, "retention.sweep", {"controller_id": NEXALEARN}, dedupe_key=f"retention.sweep:{NEXALEARN}"
            )

        eventually(lambda: _state(factory, job_id) == "succeeded", what="the sweep's success", timeout=120)

        with datastore.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM customers WHERE id IN (5, 7)")).scalar()
        assert left == 0
    finally:
        datastore.dispose()
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.result is not None and job.attempts == 1
        assert job.result["rows"] >= 2 and job.result["rules"] >= 1
        completed = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "retention.run.completed", AuditEntry.entity_id == job.result["run_id"])
        )
        assert completed == 1
