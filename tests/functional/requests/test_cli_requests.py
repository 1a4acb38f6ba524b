"""``dataright requests list / due / show / assign / verify / start / deny / remind / expire`` on a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from requests_helpers import NEXALEARN, email
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from dataright.audit.models import AuditEntry
from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.mail.models import OutboxMessage
from dataright.requests import service
from dataright.requests.models import RightsRequest
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from dataright.storage.types import utcnow
from fixtures.db import TEST_SECRET
from fixtures.rights_requests import file_by_staff

runner = CliRunner()


@pytest.fixture
def database(fresh_db_url: str, examples_dir: Path) -> Iterator[Engine]:
    declarations = [examples_dir / name for name in ("nexalearn", "nestit-group", "nestpros")]
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET, declarations=declarations))
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    yield engine
    engine.dispose()
    use_settings(None)


def _file(
    engine: Engine,
    registry: DeclarationRegistry,
    *,
    days_ago: int = 0,
    verified: bool = True,
    kind: str = "access",
    details: str | None = None,
) -> str:
    declaration = registry.controller(NEXALEARN).declaration
    with session_scope(make_session_factory(engine)) as session:
        request = file_by_staff(
            session,
            declaration,
            controller_id=NEXALEARN,
            kind=kind,
            email=email(),
            verified_reason="Called back on the number on file" if verified else None,
            details=details,
            now=utcnow() - timedelta(days=days_ago),
            base_url="https://testserver",
        )
        return request.reference


def test_list_overdue_due_within_and_show(database: Engine, registry: DeclarationRegistry) -> None:
    late = _file(database, registry, days_ago=40)
    fresh = _file(database, registry)
    overdue = runner.invoke(app, ["requests", "list", "--controller", NEXALEARN, "--status", "overdue"])
    assert overdue.exit_code == 0, overdue.output
    assert late in overdue.output and "OVERDUE" in overdue.output and fresh not in overdue.output
    soon = runner.invoke(app, ["requests", "due", "--within", "7d"])
    assert soon.exit_code == 0 and late in soon.output and fresh not in soon.output
    later = runner.invoke(app, ["requests", "due", "--within", "5w"])
    assert fresh in later.output
    shown = runner.invoke(app, ["requests", "show", fresh])
    assert shown.exit_code == 0 and '"status": "verified"' in shown.output and '"channel": "phone"' in shown.output


def test_show_reads_back_what_the_person_wrote_and_the_audit_trail_never_holds_it(
    database: Engine, registry: DeclarationRegistry
) -> None:
    words = "Ich möchte die Notizen meiner Lehrerin sehen, bitte bis Freitag"
    reference = _file(database, registry, details=words)
    plain = _file(database, registry)

    shown = runner.invoke(app, ["requests", "show", reference])
    without = runner.invoke(app, ["requests", "show", plain])
    assigned = runner.invoke(app, ["requests", "assign", reference, "--to", "officer@nexalearn.no"])

    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert body["reference"] == reference and body["details"] == words and body["has_details"] is True
    assert without.exit_code == 0 and json.loads(without.output)["details"] is None
    assert assigned.exit_code == 0 and words not in assigned.output
    with session_scope(make_session_factory(database), write=False) as session:
        trail = [json.dumps(e.details, ensure_ascii=False) for e in session.scalars(select(AuditEntry))]
    assert any(reference in entry for entry in trail)
    assert not any(words in entry or "Lehrerin" in entry for entry in trail)


def test_bad_flags_and_unknown_requests_are_named(database: Engine, registry: DeclarationRegistry) -> None:
    reference = _file(database, registry, kind="objection")
    bad_within = runner.invoke(app, ["requests", "due", "--within", "soon"])
    assert bad_within.exit_code == 1 and "--within 'soon'" in bad_within.output
    bad_status = runner.invoke(app, ["requests", "list", "--status", "lost"])
    assert bad_status.exit_code == 1 and "status: unknown 'lost'" in bad_status.output
    unknown = runner.invoke(app, ["requests", "show", "R-NOSUCHTHING"])
    assert unknown.exit_code == 1 and "no request 'R-NOSUCHTHING'" in unknown.output
    bad_date = runner.invoke(app, ["requests", "extend", reference, "--reason", "x", "--until", "someday"])
    assert bad_date.exit_code == 1 and "--until 'someday'" in bad_date.output
    illegal = runner.invoke(app, ["requests", "complete", reference])
    assert illegal.exit_code == 0  # verified -> completed is allowed for a request without tasks
    again = runner.invoke(app, ["requests", "start", reference])
    assert again.exit_code == 1 and "allowed: none" in again.output


def test_assign_and_the_daily_reminder_is_enqueued_once(database: Engine, registry: DeclarationRegistry) -> None:
    reference = _file(database, registry, days_ago=29)
    assigned = runner.invoke(app, ["requests", "assign", reference, "--to", "officer@nexalearn.no"])
    assert assigned.exit_code == 0, assigned.output
    for _ in range(2):
        reminded = runner.invoke(app, ["requests", "remind", "--controller", NEXALEARN, "--within", "3d"])
        assert reminded.exit_code == 0 and "1 reminder(s) enqueued" in reminded.output
    with session_scope(make_session_factory(database), write=False) as session:
        rows = session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.template == "request_reminder")
        ).scalar_one()
    assert rows == 1


def test_unverified_requests_expire(database: Engine, registry: DeclarationRegistry) -> None:
    stale = _file(database, registry, days_ago=20, verified=False)
    recent = _file(database, registry, days_ago=1, verified=False)
    result = runner.invoke(app, ["requests", "expire"])
    assert result.exit_code == 0 and "1 unverified request(s) expired" in result.output
    with session_scope(make_session_factory(database), write=False) as session:
        states = dict(
            session.execute(
                select(RightsRequest.reference, RightsRequest.status).where(
                    RightsRequest.reference.in_([stale, recent])
                )
            ).all()
        )
    assert states == {stale: "expired", recent: "received"}


def test_start_queues_the_engine_job_of_an_erasure_in_the_same_transaction(
    database: Engine, registry: DeclarationRegistry
) -> None:
    from dataright.jobs.models import Job

    reference = _file(database, registry, kind="erasure")
    started = runner.invoke(app, ["requests", "start", reference])
    assert started.exit_code == 0, started.output
    with session_scope(make_session_factory(database), write=False) as session:
        request = session.scalars(select(RightsRequest).where(RightsRequest.reference == reference)).one()
        jobs = session.scalars(select(Job).where(Job.kind == "requests.fulfil")).all()
        assert request.status == "in_progress"
        assert [(j.args, j.state, j.created_by) for j in jobs] == [({"request_id": str(request.id)}, "queued", "cli")]


def test_correct_gives_a_rectification_its_values_encrypted_and_queues_the_engine_job(
    database: Engine, registry: DeclarationRegistry
) -> None:
    from dataright.jobs.models import Job

    reference = _file(database, registry, kind="rectification")
    started = runner.invoke(app, ["requests", "start", reference])
    assert started.exit_code == 0, started.output
    factory = make_session_factory(database)
    with session_scope(factory, write=False) as session:
        assert session.scalars(select(Job).where(Job.kind == "requests.fulfil")).all() == []  # no values yet

    corrected = runner.invoke(app, ["requests", "correct", reference, "--set", "customers.phone=+4791234567"])
    assert corrected.exit_code == 0, corrected.output
    with session_scope(factory, write=False) as session:
        request = session.scalars(select(RightsRequest).where(RightsRequest.reference == reference)).one()
        assert b"91234567" not in (request.corrections_ciphertext or b"")
        assert service.corrections_of(request) == {"customers.phone": "+4791234567"}
        jobs = session.scalars(select(Job).where(Job.kind == "requests.fulfil")).all()
        assert [j.args for j in jobs] == [{"request_id": str(request.id)}]

    malformed = runner.invoke(app, ["requests", "correct", reference, "--set", "phone"])
    assert malformed.exit_code == 1 and "expected table.field=value" in malformed.output
    access = _file(database, registry)
    wrong = runner.invoke(app, ["requests", "correct", access, "--set", "customers.phone=+4791234567"])
    assert wrong.exit_code == 1 and "not a rectification" in wrong.output
