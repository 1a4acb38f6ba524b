"""A ledger that proves itself: the chain covers the consent events, and a signed head catches a cut-off end.

Each test works on a database of its own (it tampers with it) through ``dataright audit ...``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from dataright.audit.service import SignedHead, append, seal_pending
from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.consent import service
from dataright.consent.targets import Target
from dataright.declarations.registry import DeclarationRegistry
from dataright.declarations.schema import Declaration
from dataright.identity import service as identity
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from dataright.web.app import create_app
from fixtures.db import TEST_SECRET

runner = CliRunner()
NEXALEARN = "nexalearn"
DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER consent_events_no_update", "DROP TRIGGER consent_events_no_delete"],
    "postgresql": ["DROP TRIGGER consent_events_no_change ON consent_events"],
}


@pytest.fixture
def url(fresh_db_url: str) -> Iterator[str]:
    upgrade(fresh_db_url)
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET))
    yield fresh_db_url
    use_settings(None)


def _execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def _record_events(url: str, declaration: Declaration, count: int) -> list[int]:
    """``count`` consent events of new NexaLearn subjects, committed and sealed."""
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        ids: list[int] = []
        with session_scope(factory) as session:
            for _ in range(count):
                subject = identity.get_or_create_subject(
                    session, controller_id=NEXALEARN, identifiers={"email": f"p.{uuid.uuid4().hex[:8]}@example.org"}
                )
                event = service.record(
                    session,
                    declaration=declaration,
                    controller_id=NEXALEARN,
                    target=Target.purpose("analytics"),
                    kind="given",
                    method="web_form",
                    actor="test",
                    subject_id=subject.id,
                )
                ids.append(event.id)
        seal_pending(partial(session_scope, factory))
        return ids
    finally:
        engine.dispose()


def _verify(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_an_edited_consent_event_fails_verification_even_with_the_triggers_dropped(
    url: str, backend: str, nexalearn: Declaration
) -> None:
    _, edited, _ = _record_events(url, nexalearn, 3)
    code, output = _verify()
    assert code == 0 and "3 covered records match" in output, output
    _execute(url, *DROP_TRIGGERS[backend], f"UPDATE consent_events SET kind = 'withdrawn' WHERE id = {edited}")
    code, output = _verify()
    assert code == 1
    assert f"consent event #{edited} was edited" in output


def test_a_deleted_consent_event_fails_verification_even_with_the_triggers_dropped(
    url: str, backend: str, nexalearn: Declaration
) -> None:
    _, deleted, _ = _record_events(url, nexalearn, 3)
    _execute(
        url,
        *DROP_TRIGGERS[backend],
        f"DELETE FROM consent_state WHERE event_id = {deleted}",
        f"DELETE FROM consent_events WHERE id = {deleted}",
    )
    code, output = _verify()
    assert code == 1
    assert f"consent event #{deleted} is missing (deleted)" in output


def test_audit_head_prints_a_signed_head_of_the_sealed_chain(url: str, nexalearn: Declaration) -> None:
    _record_events(url, nexalearn, 2)
    result = runner.invoke(app, ["audit", "head"])
    assert result.exit_code == 0, result.output
    head = json.loads(result.output)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            entries = connection.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()
    finally:
        engine.dispose()
    assert head["seq"] == entries >= 2 and len(head["hash"]) == 64 and head["signature"].startswith("hmac-sha256:")
    assert head["at"].endswith("+00:00")


def test_deleting_the_last_audit_entries_fails_verify_against_an_earlier_head(url: str, tmp_path: Path) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            for i in range(5):
                append(s, actor="test", action="test.entry", entity_type="test", entity_id=str(i))
    finally:
        engine.dispose()
    head = tmp_path / "head.json"
    assert runner.invoke(app, ["audit", "head", "--output", str(head)]).exit_code == 0
    assert _verify("--expect-head", str(head))[0] == 0
    _execute(url, "DELETE FROM audit_entries WHERE seq >= 4")
    code, output = _verify("--no-seal")
    assert code == 0, output  # what is left is a valid chain: only the head can tell
    code, output = _verify("--no-seal", "--expect-head", str(head))
    assert code == 1
    assert "the chain ends at entry #3" in output and "names entry #5" in output and "cut off the end" in output


def test_a_chain_rewritten_after_the_head_diverges_from_it(url: str, tmp_path: Path) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            for i in range(3):
                append(s, actor="test", action="test.entry", entity_type="test", entity_id=str(i))
    finally:
        engine.dispose()
    head = tmp_path / "head.json"
    assert runner.invoke(app, ["audit", "head", "-o", str(head)]).exit_code == 0
    _execute(url, "UPDATE audit_entries SET action = 'x', hash = NULL, prev_hash = NULL, seq = NULL WHERE seq = 3")
    assert _verify()[0] == 0  # resealed: a valid chain again, but not the one the head signed
    code, output = _verify("--expect-head", str(head))
    assert code == 1 and "entry #3 differs from the head" in output and "diverges" in output


def test_a_head_that_was_edited_or_is_not_a_head_is_refused(url: str, tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    assert runner.invoke(app, ["audit", "head", "-o", str(head)]).exit_code == 0
    data = json.loads(head.read_text())
    data["seq"] = 0 if data["seq"] else 1
    head.write_text(json.dumps(data))
    code, output = _verify("--expect-head", str(head))
    assert code == 1 and "signature does not match" in output
    head.write_text("{not json")
    code, output = _verify("--expect-head", str(head))
    assert code == 1 and f"--expect-head {head}: not a signed audit head: not JSON (line 1, column 2" in output


def test_the_server_seals_and_writes_signed_heads_to_the_configured_file_and_url(
    url: str, tmp_path: Path, examples_dir: Path
) -> None:
    received: list[bytes] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    collector = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    head = tmp_path / "heads" / "head.json"
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET,
        audit_head_file=head,
        audit_head_url=f"http://127.0.0.1:{collector.server_address[1]}/heads",
        audit_seal_interval=0.05,
    )
    app = create_app(settings, DeclarationRegistry.from_paths([examples_dir / "nexalearn"]))
    try:
        with TestClient(app):
            with session_scope(app.state.session_factory) as s:
                for i in range(3):
                    append(s, actor="test", action="test.entry", entity_type="test", entity_id=str(i))
            deadline = time.monotonic() + 30
            while not head.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert head.exists()  # the first head is written right after start
        # on stop the server seals what is left and writes a last head
        written = SignedHead.loads(head.read_text())
    finally:
        collector.shutdown()
    assert written.seq >= 3 and written.valid(settings.keys().audit_head)
    assert SignedHead.loads(received[-1].decode()) == written
    code, output = _verify("--no-seal", "--expect-head", str(head))
    assert code == 0 and "extends the head" in output, output
