"""Schemathesis against the app (draft)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from dataright.access.service import create_key
from dataright.config import Settings, use_settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.storage.engine import make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from dataright.web.app import create_app
from fixtures.db import TEST_SECRET

MAX_EXAMPLES = int(os.environ.get("STX", "20"))


def test_api(tmp_path: Path, registry: DeclarationRegistry) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dataright.sqlite3'}", secret_key=TEST_SECRET, base_url="http://testserver"
    )
    use_settings(settings)
    app = create_app(settings, registry)
    upgrade(app.state.engine)
    with session_scope(make_session_factory(app.state.engine)) as session:
        _, token = create_key(session, name="schemathesis", scopes=["admin"], controller_ids=["*"])
    config = SchemathesisConfig.from_dict(
        {"headers": {"Authorization": f"Bearer {token}"}, "generation": {"max-examples": MAX_EXAMPLES}, "seed": 1}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    failures: list[str] = []
    errors: list[str] = []
    cases = 0
    statuses: Counter[str] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for inter in event.recorder.interactions.values():
                if inter.response is not None:
                    statuses[f"{event.recorder.label} {inter.response.status_code}"] += 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        f = check.failure_info.failure
                        failures.append(
                            f"{event.phase} {event.recorder.label} {check.name}: {f.title}: {f.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"FATAL: {event.exception!r}")
    use_settings(None)
    Path("/tmp/st_report.txt").write_text(
        "\n\n".join(failures + errors) + "\n\n" + "\n".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    )
    print(f"schemathesis: {cases} cases, {len(failures)} failures, {len(errors)} errors")
    assert not failures and not errors
