"""The API does what its OpenAPI document says: schemathesis runs every operation with every built-in check
(examples, coverage, fuzzing and the stateful phase along the document's links) against the app on SQLite,
with a key for every controller and the three reference organisations loaded, and finds nothing.

Two settings, both narrower than they look:

* ``controller`` / ``controller_id`` are pinned to a served controller (``nexalearn``); a random one only
  ever reaches the 404 for an unknown controller, and nothing behind it.
* ``positive_data_acceptance`` also accepts a 422, because some rules cannot be written in a static schema:
  which purposes and topics a controller declared and on which legal basis (a contract purpose has no consent
  to record), dates bounded by today, an e-mail address that parses but cannot exist. In their place,
  ``schema_and_parser_agree`` below fails any schema-valid request that the request parser refuses (a 422
  naming a field or a parameter), except the fields bounded by the clock. (A rule across query parameters,
  "exactly one of purpose, cookie or topic" on ``GET /api/v1/consent/check``, cannot be stated in OpenAPI
  parameters; in request bodies it is, with ``oneOf``.)

The number of cases per operation is ``DATARIGHT_SCHEMATHESIS_EXAMPLES`` (default 20).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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

EXAMPLES = int(os.environ.get("DATARIGHT_SCHEMATHESIS_EXAMPLES", "20"))
CONTROLLER = "nexalearn"
# fields whose bounds move with the clock, so no static schema states them
CLOCK_BOUNDED = ("/birth_date", "/occurred_at")


@schemathesis.check
def schema_and_parser_agree(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the schema allows is never refused by the request parser (a 422 pointing into it)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    refused = [
        e
        for e in body.get("errors") or []
        if ("pointer" in e or "parameter" in e)
        and not any(str(e.get("pointer", "")).endswith(f) for f in CLOCK_BOUNDED)
    ]
    if refused:
        raise AssertionError(f"the parser refused a schema-valid request: {refused}")
    return None


@pytest.fixture
def served_app(tmp_path: Path, registry: DeclarationRegistry) -> Iterator[tuple[Any, str]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dataright.sqlite3'}",
        secret_key=TEST_SECRET,
        base_url="https://testserver",
    )
    use_settings(settings)
    app = create_app(settings, registry)
    upgrade(app.state.engine)
    with session_scope(make_session_factory(app.state.engine)) as session:
        _, token = create_key(session, name="schemathesis", scopes=["admin"], controller_ids=["*"])
    yield app, token
    app.state.engine.dispose()
    use_settings(None)


def _config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": EXAMPLES},
            "seed": 17,
            "parameters": {"query.controller": CONTROLLER, "path.controller_id": CONTROLLER},
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}
            },
        }
    )


def _describe(recorder: Any, case_id: str, check: Any) -> str:
    info = check.failure_info
    interaction = recorder.interactions.get(case_id)
    answer = ""
    if interaction is not None and interaction.response is not None:
        answer = f"\n  answered {interaction.response.status_code}: {interaction.response.content[:400]!r}"
    return f"{recorder.label} [{check.name}] {info.failure.title}: {info.failure.message}\n  {info.code_sample}{answer}"


@pytest.mark.slow
def test_every_operation_keeps_the_contract_its_openapi_document_states(
    served_app: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    app, token = served_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(token))
    failures: list[str] = []
    errors: list[str] = []
    cases = 0
    operations: set[str] = set()
    stateful_steps = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            if event.phase.value == "stateful_testing" or "Stateful" in event.recorder.label:
                stateful_steps += len(event.recorder.cases)
            else:
                operations.add(event.recorder.label)
            for case_id, checks in event.recorder.checks.items():
                failures += [
                    _describe(event.recorder, case_id, c)
                    for c in checks
                    if c.status == Status.FAILURE and c.failure_info is not None
                ]
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
    documented = {f"{m.upper()} {p}" for p, item in app.openapi()["paths"].items() for m in item}
    with capsys.disabled():
        print(
            f"\nschemathesis: {len(operations)} operations, {cases} cases ({stateful_steps} in stateful sequences), "
            f"{len(failures)} failures, {len(errors)} errors"
        )
    assert not errors, "\n".join(errors)
    assert not failures, "\n\n".join(failures)
    assert documented <= operations, f"operations schemathesis did not run: {sorted(documented - operations)}"
    assert stateful_steps > 0, "the stateful phase ran no sequence: are the OpenAPI links declared?"
