"""``dataright serve``: refuses to start without a secret key, migrates the embedded database, and in demo
mode serves the examples with a printed API key (one real run under uvicorn, end to end)."""

from __future__ import annotations

import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from dataright.cli import serve as serve_module
from dataright.cli.main import app as cli
from dataright.config import Settings, use_settings
from dataright.storage.engine import make_engine
from dataright.storage.migrate import current_revision, head_revision
from fixtures.db import TEST_SECRET

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Captures what would be handed to uvicorn instead of blocking on it."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


@pytest.fixture
def configure() -> Iterator[Any]:
    def install(**values: Any) -> None:
        use_settings(Settings(**values))

    yield install
    use_settings(None)


def test_outside_demo_mode_a_missing_secret_key_stops_the_server_with_exit_1(
    configure: Any, served: list[dict[str, Any]], tmp_path: Path
) -> None:
    configure(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert "DATARIGHT_SECRET_KEY is not set" in result.output
    assert served == []


def test_serve_migrates_the_database_and_serves_the_declarations_given(
    configure: Any, served: list[dict[str, Any]], fresh_db_url: str, backend: str, examples_dir: Path
) -> None:
    configure(database_url=fresh_db_url, secret_key=TEST_SECRET)
    result = runner.invoke(cli, ["serve", "--port", "8123", "--declarations", str(examples_dir / "nexalearn")])
    engine = make_engine(fresh_db_url)
    try:
        if backend == "postgresql":  # a shared database is migrated deliberately, not by a starting server
            assert result.exit_code == 1
            assert "dataright db upgrade" in result.output
            assert served == []
            return
        assert result.exit_code == 0, result.output
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    (call,) = served
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)
    app: FastAPI = call["app"]
    assert app.state.registry.controller_ids == ["nexalearn"]
    assert "demo API key" not in result.output


def test_demo_mode_without_a_secret_key_uses_an_ephemeral_one_and_prints_a_demo_key(
    configure: Any, served: list[dict[str, Any]], tmp_path: Path
) -> None:
    configure(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    result = runner.invoke(cli, ["serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert "ephemeral" in result.output
    assert "demo API key" in result.output and "dr_" in result.output
    (call,) = served
    assert len(call["app"].state.registry) >= 1


def test_more_workers_build_the_app_from_the_settings_this_command_resolved(
    configure: Any, served: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATARIGHT_")}
    monkeypatch.setattr(os, "environ", environment)
    configure(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    result = runner.invoke(cli, ["serve", "--demo", "--workers", "2"])
    assert result.exit_code == 0, result.output
    (call,) = served
    assert (call["app"], call["factory"], call["workers"]) == (serve_module.APP_FACTORY, True, 2)
    use_settings(None)  # what a worker process sees: the environment alone
    module, _, name = serve_module.APP_FACTORY.partition(":")
    worker_app: FastAPI = getattr(importlib.import_module(module), name)()
    assert worker_app.state.settings.database_url == f"sqlite:///{tmp_path / 'demo.db'}"
    assert worker_app.state.settings.secret_key is not None
    assert worker_app.state.settings.secret_key.get_secret_value() == environment["DATARIGHT_SECRET_KEY"]
    assert len(worker_app.state.registry) >= 1


def test_the_access_log_is_on_unless_turned_off(configure: Any, served: list[dict[str, Any]], tmp_path: Path) -> None:
    configure(database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key=TEST_SECRET)
    assert runner.invoke(cli, ["serve"]).exit_code == 0
    assert runner.invoke(cli, ["serve", "--no-access-log"]).exit_code == 0
    assert [call["access_log"] for call in served] == [True, False]
    assert all(call["app"] is not None and "workers" not in call for call in served)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "stop"),
    [(1, signal.SIGTERM), (1, signal.SIGINT), (2, signal.SIGTERM)],
    ids=["1-term", "1-int", "2-term"],
)
def test_serve_demo_runs_end_to_end_under_uvicorn_and_leaves_no_database_behind(
    tmp_path: Path, workers: int, stop: signal.Signals
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATARIGHT_")}
    command = ["serve", "--demo", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        [sys.executable, "-c", "from dataright.cli.main import app; app()", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        token = None
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("demo API key"):
                token = line.rsplit(" ", 1)[1].strip()
                break
        assert token is not None and token.startswith("dr_"), process.stderr.read() if process.stderr else ""
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # two workers start slowly on a loaded machine
        while True:
            try:
                health = httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert health.status_code == 200
        assert "nexalearn" in health.json()["controllers"]
        assert httpx.get(f"{base}/api/v1/audit/verify").status_code == 401
        verified = httpx.get(f"{base}/api/v1/audit/verify", headers={"Authorization": f"Bearer {token}"})
        assert verified.status_code == 200 and verified.json()["ok"] is True
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        process.send_signal(stop)
        process.wait(timeout=30)
        errors = process.stderr.read() if process.stderr else ""
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    scratch = re.search(r"demo: data kept in (\S+) for this run only", errors)
    assert scratch is not None, errors
    assert Path(scratch[1]).parent.is_dir() and not Path(scratch[1]).exists(), "the throw-away database is left"


def test_serve_warns_when_base_url_is_unset_or_no_declaration_is_loaded(
    configure: Any, served: list[dict[str, Any]], tmp_path: Path, examples_dir: Path
) -> None:
    configure(database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key=TEST_SECRET)
    bare = runner.invoke(cli, ["serve"])
    assert bare.exit_code == 0, bare.output
    assert "warning: base_url is not set: unsubscribe links in e-mails will point to http://127.0.0.1:8000" in (
        bare.output
    )
    assert "warning: no declaration is loaded" in bare.output
    configure(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key=TEST_SECRET, base_url="https://privacy.example.org"
    )
    complete = runner.invoke(cli, ["serve", "--declarations", str(examples_dir / "nexalearn")])
    assert complete.exit_code == 0, complete.output
    assert "warning" not in complete.output
