"""The retention schedule enqueues one sweep per controller that has retention rules, never two live ones."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dataright.declarations.registry import DeclarationRegistry
from dataright.jobs import service
from dataright.jobs.models import Job
from dataright.jobs.runtime import JobEnvironment, execute
from dataright.storage.engine import session_scope


def test_the_retention_schedule_enqueues_one_sweep_per_controller_with_rules(
    env: JobEnvironment, factory: sessionmaker[Session], examples_dir: Path
) -> None:
    env.declarations = DeclarationRegistry.from_paths([examples_dir / "nexalearn"])
    for _ in range(2):
        with session_scope(factory) as session:
            scan = service.enqueue(session, "retention.sweep_all", {})
        assert execute(env, owner="test", job_id=scan) == "succeeded"
    with session_scope(factory) as session:
        sweeps = list(session.scalars(select(Job).where(Job.kind == "retention.sweep", Job.state == "queued")))
        assert [j.args for j in sweeps] == [{"controller_id": "nexalearn"}]
        assert sweeps[0].dedupe_key == "retention.sweep:nexalearn"
        service.cancel(session, sweeps[0], actor="test")
