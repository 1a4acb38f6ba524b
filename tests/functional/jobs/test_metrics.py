"""``GET /metrics``: Prometheus text for a key with ``ops:read`` on every controller, figures from the tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from dataright.access.service import create_key
from dataright.audit import service as audit
from dataright.breach import service as breaches
from dataright.breach.service import IncidentDraft
from dataright.config import Settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.declarations.schema import Declaration
from dataright.jobs import service
from dataright.jobs.runtime import JobEnvironment, execute
from dataright.storage.engine import session_scope
from dataright.storage.types import utcnow
from dataright.web.app import create_app


@pytest.fixture
def client(jobs_settings: Settings, factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """An app on the jobs tests' database."""
    with TestClient(create_app(jobs_settings, DeclarationRegistry([])), raise_server_exceptions=False) as client:
        yield client


def make_key(factory: sessionmaker[Session], scopes: list[str], controllers: list[str]) -> str:
    with session_scope(factory) as session:
        _, token = create_key(session, name="test", scopes=scopes, controller_ids=controllers)
    return token


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_jobs_by_state_durations_and_failed_attempts(
    client: TestClient, factory: sessionmaker[Session], env: JobEnvironment
) -> None:
    key = make_key(factory, ["ops:read"], ["*"])
    before = _samples(client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text)
    with session_scope(factory) as session:
        quick = service.enqueue(session, "test.effect", {"tag": uuid.uuid4().hex})
        flaky = service.enqueue(session, "test.flaky", {"tag": uuid.uuid4().hex, "fail_times": 1})
        service.enqueue(session, "test.effect", {"tag": uuid.uuid4().hex}, run_after=utcnow() + timedelta(hours=1))
    for minutes, job_id in ((1, quick), (1, flaky), (2, flaky)):  # the second try comes after the back-off
        env.clock = lambda minutes=minutes: utcnow() + timedelta(minutes=minutes)
        assert execute(env, owner="metrics-test", job_id=job_id) is not None

    response = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)

    def grew(name: str, **labels: str) -> float:
        ident = (name, tuple(sorted(labels.items())))
        return after[ident] - before.get(ident, 0.0)

    assert grew("dataright_jobs", kind="test.effect", state="succeeded") == 1
    assert grew("dataright_jobs", kind="test.effect", state="queued") == 1
    assert grew("dataright_jobs", kind="test.flaky", state="succeeded") == 1
    assert grew("dataright_job_failed_attempts_total", kind="test.flaky") == 1
    assert grew("dataright_job_duration_seconds_count", kind="test.effect") == 1
    assert grew("dataright_job_duration_seconds_bucket", kind="test.effect", le="+Inf") == 1
    assert ("dataright_requests_overdue", ()) not in after  # labelled per controller; none overdue here
    assert "@" not in response.text


def test_metrics_need_a_key_with_the_ops_scope_for_every_controller(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    assert client.get("/metrics").status_code == 401
    other = make_key(factory, ["admin"], ["nexalearn"])
    assert client.get("/metrics", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    one = make_key(factory, ["ops:read"], ["nexalearn"])
    assert client.get("/metrics", headers={"Authorization": f"Bearer {one}"}).status_code == 403


def test_metrics_show_breach_clocks_and_the_rows_retention_rules_acted_on(
    client: TestClient, factory: sessionmaker[Session], nexalearn: Declaration
) -> None:
    key = make_key(factory, ["ops:read"], ["*"])
    before = _samples(client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text)
    aware = utcnow() - timedelta(hours=60)  # 12 of GDPR's 72 hours left: due within 24 hours
    draft = IncidentDraft(
        occurred_at=aware - timedelta(hours=2),
        aware_at=aware,
        description="A misconfigured export.",
        systems=("scanditek",),
        categories=("user.contact.email",),
        affected_people=3,
        likely_consequences="Other schools could see names.",
        measures="The export was closed.",
    )
    with session_scope(factory) as session:
        breaches.open_incident(session, nexalearn, "nexalearn", draft, actor="test")
        for acted, deactivated in ((40, 0), (2, 5)):
            audit.append(
                session,
                actor="test",
                action="retention.rule.completed",
                entity_type="retention_rule",
                entity_id="metrics-rule",
                controller_id="nexalearn",
                details={
                    "rule": "metrics-rule",
                    "action": "delete",
                    "acted": acted,
                    "tables": [{"deactivated": deactivated}],
                },
            )
    after = _samples(client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).text)

    def grew(name: str, **labels: str) -> float:
        ident = (name, tuple(sorted(labels.items())))
        return after.get(ident, 0.0) - before.get(ident, 0.0)

    assert grew("dataright_breach_clocks", controller="nexalearn", clock="authority", state="due_soon") == 1
    assert grew("dataright_retention_rows_total", rule="metrics-rule", action="delete") == 47
