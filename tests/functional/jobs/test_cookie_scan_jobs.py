"""Asking for a cookie scan as a job: through the API (``cookies:write``; the result is read with
``cookies:read``), or with ``dataright cookies scan URL --controller ID --job``. The scan is stored under its
job's id: recording it again replaces the row with the same findings instead of adding one."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from dataright.cli.main import app as cli
from dataright.config import Settings
from dataright.cookies import service as cookies
from dataright.cookies.findings import Observation, Phase, PhaseOutcome, Report, Storage, compare
from dataright.cookies.models import CookieScan
from dataright.declarations.registry import DeclarationRegistry
from dataright.jobs.models import Job
from dataright.jobs.runtime import JobEnvironment, execute
from dataright.jobs.service import cancel, enqueue
from dataright.jobs.tasks import default_schedules
from dataright.storage.engine import make_session_factory, session_scope
from fixtures.cookie_site import Variant, serve
from fixtures.demo import require_browser
from fixtures.web import MakeKey

NESTIT = "nestit-group-ab"
cli_runner = CliRunner()


@pytest.mark.browser
def test_a_scan_asked_for_through_the_api_runs_as_a_job_and_shows_what_it_found(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    require_browser()
    key = make_key(scopes=["cookies:write"], controllers=[NESTIT])
    headers = {"Authorization": f"Bearer {key}"}
    env = JobEnvironment(make_session_factory(app.state.engine), app.state.settings, app.state.registry)
    for site in serve(Variant(planted=True)):
        asked = client.post(
            "/api/v1/cookie-scans",
            params={"controller": NESTIT},
            json={"url": site.url, "max_pages": 2},
            headers=headers,
        )
        assert asked.status_code == 202, asked.text
        scan_id = asked.json()["scan_id"]
        path = f"/api/v1/cookie-scans/{scan_id}"
        queued = client.get(path, params={"controller": NESTIT}, headers=headers).json()
        assert queued["state"] == "queued" and queued["report"] is None and queued["url"] == site.url

        assert execute(env, owner="test", job_id=uuid.UUID(scan_id)) == "succeeded"

    done = client.get(path, params={"controller": NESTIT}, headers=headers).json()
    assert done["state"] == "succeeded" and done["violations"] >= 1 and done["pages"] >= 2
    assert {"kind": "undeclared", "name": "planted_id"}.items() <= next(
        f for f in done["report"]["findings"] if f["name"] == "planted_id"
    ).items()
    other = client.get(path, params={"controller": "provendo-as"}, headers=headers)
    assert other.status_code == 403  # a key of one controller reads none of another's scans


def test_a_scan_that_cannot_start_waits_for_its_retry_and_says_what_to_fix(
    app: FastAPI, client: TestClient, make_key: MakeKey, tmp_path: Path
) -> None:
    pytest.importorskip("playwright")  # part of the test dependencies: the missing piece here is the browser
    key = make_key(scopes=["cookies:write"], controllers=[NESTIT])
    headers = {"Authorization": f"Bearer {key}"}
    asked = client.post(
        "/api/v1/cookie-scans", params={"controller": NESTIT}, json={"url": "https://example.org/"}, headers=headers
    )
    scan_id = asked.json()["scan_id"]
    settings = app.state.settings.model_copy(update={"chromium": tmp_path / "no-chromium"})
    env = JobEnvironment(make_session_factory(app.state.engine), settings, app.state.registry)

    assert execute(env, owner="test", job_id=uuid.UUID(scan_id)) == "waiting"

    shown = client.get(f"/api/v1/cookie-scans/{scan_id}", params={"controller": NESTIT}, headers=headers).json()
    assert shown["state"] == "waiting" and shown["report"] is None
    assert shown["last_error"].startswith(f"ConfigurationError: Chromium not found at {tmp_path / 'no-chromium'}")


def test_a_scan_request_with_a_bad_url_or_an_unknown_controller_is_refused(
    client: TestClient, make_key: MakeKey
) -> None:
    headers = {"Authorization": f"Bearer {make_key(scopes=['admin'], controllers=['*'])}"}
    bad_url = client.post(
        "/api/v1/cookie-scans", params={"controller": NESTIT}, json={"url": "ftp://shop.example/"}, headers=headers
    )
    assert bad_url.status_code == 422 and "expected an absolute http:// or https://" in bad_url.json()["detail"]
    unknown = client.post(
        "/api/v1/cookie-scans", params={"controller": "nobody"}, json={"url": "https://x.example/"}, headers=headers
    )
    assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]
    missing = client.get(f"/api/v1/cookie-scans/{uuid.uuid4()}", params={"controller": NESTIT}, headers=headers)
    assert missing.status_code == 404


def test_the_job_flag_queues_a_scan_and_prints_its_id(
    jobs_settings: Settings, factory: sessionmaker[Session], examples_dir: Path
) -> None:
    declarations = str(examples_dir / "nestit-group")
    url = "https://shop.example/"
    queued = cli_runner.invoke(cli, ["cookies", "scan", url, "--controller", NESTIT, "-d", declarations, "--job"])
    assert queued.exit_code == 0, queued.output
    with session_scope(factory, write=False) as session:
        jobs = session.scalars(select(Job).where(Job.kind == "cookies.scan", Job.created_by == "cli")).all()
        mine = [j for j in jobs if j.args["url"] == url]
    assert len(mine) == 1 and str(mine[0].id) in queued.output
    assert mine[0].args == {"controller_id": NESTIT, "url": url, "max_pages": 10, "timeout": 90.0}

    drafted = cli_runner.invoke(
        cli, ["cookies", "scan", url, "--controller", NESTIT, "-d", declarations, "--job", "--draft", "x.yaml"]
    )
    assert drafted.exit_code == 2 and "--job" in drafted.output


def _report(examples_dir: Path) -> Report:
    declaration = DeclarationRegistry.from_paths([examples_dir / "nestit-group"]).controller(NESTIT).declaration
    page = "https://shop.example/"
    outcomes = (PhaseOutcome(Phase.before_choice, (page,), None),)
    seen = (Observation(Phase.before_choice, Storage.cookie, "planted_id", "shop.example", page),)
    return Report(page, NESTIT, outcomes, seen, compare(seen, declaration.cookies_of(NESTIT), outcomes))


def test_recording_the_same_scan_again_replaces_it_with_the_same_findings(
    env: JobEnvironment, factory: sessionmaker[Session], examples_dir: Path
) -> None:
    scan_id = uuid.uuid4()
    report = _report(examples_dir)
    stored = []
    for _ in range(2):
        with session_scope(factory) as session:
            cookies.record(session, scan_id=scan_id, report=report, actor="test")
        with session_scope(factory, write=False) as session:
            rows = session.scalars(select(CookieScan).where(CookieScan.id == scan_id)).all()
            assert len(rows) == 1
            stored.append((rows[0].violations, rows[0].notices, rows[0].report["findings"]))
    assert stored[0] == stored[1] and stored[0][0] >= 1


def test_the_cookie_scan_schedule_is_off_by_default_and_scans_each_declared_website_once(
    env: JobEnvironment, factory: sessionmaker[Session], examples_dir: Path
) -> None:
    assert "cookies.scan_all" not in [s.kind for s in default_schedules(env.settings)]
    every_day = env.settings.model_copy(update={"schedule_cookie_scan_seconds": 86400})
    assert [s.every for s in default_schedules(every_day) if s.kind == "cookies.scan_all"] == [86400]

    env.declarations = DeclarationRegistry.from_paths([examples_dir / "nestit-group"])
    for _ in range(2):
        with session_scope(factory) as session:
            fired = enqueue(session, "cookies.scan_all", {})
        assert execute(env, owner="test", job_id=fired) == "succeeded"
    with session_scope(factory) as session:
        scans = list(
            session.scalars(
                select(Job).where(Job.kind == "cookies.scan", Job.state == "queued", Job.created_by == "jobs")
            )
        )
        websites = {
            c: env.declarations.controller(c).declaration.controller_by_id[c].website
            for c in env.declarations.controller_ids
        }
        expected = {c: w for c, w in websites.items() if w}
        assert expected and {j.args["controller_id"]: j.args["url"] for j in scans} == expected
        assert len(scans) == len(expected)  # the second firing found them queued: one live scan per controller
        for job in scans:
            cancel(session, job, actor="test")
