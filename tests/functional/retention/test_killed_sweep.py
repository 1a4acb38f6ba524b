"""A retention run killed half-way (SIGKILL) and run again ends exactly where an uninterrupted one does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fixtures.db import TEST_SECRET
from fixtures.elearning import PEOPLE, TODAY, ServerDatabases, make_elearning
from functional.dsr_engine.conftest import orphans, snapshot

from .conftest import execute

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
COMMAND = [sys.executable, "-m", "dataright.cli.main"]


def _prepare(url: str) -> None:
    ended = TODAY - timedelta(days=200)
    execute(url, ("UPDATE customers SET relationship_ended_on = :d WHERE id <= 60", {"d": ended}))


def _waiting(url: str) -> bool:
    """Whether a session on the database waits for a lock (the sweep, on the row the test holds)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_a_killed_sweep_run_again_converges_to_an_uninterrupted_run(
    server_databases: dict[str, ServerDatabases], tmp_path: Path
) -> None:
    uninterrupted, killed = (make_elearning(server_databases, "postgresql") for _ in range(2))
    for url in (uninterrupted, killed):
        _prepare(url)

    def env(url: str, name: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATARIGHT_DATABASE_URL": f"sqlite:///{tmp_path / name}",
            "DATARIGHT_SECRET_KEY": TEST_SECRET,
            "NEXALEARN_DB_URL": url,
        }

    args = [*COMMAND, "retention", "run", "-c", "nexalearn", "-d", str(ROOT / "examples" / "nexalearn")]
    args += ["--batch-size", "5", "--today", TODAY.isoformat()]
    done = subprocess.run(args, env=env(uninterrupted, "a.sqlite3"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    holder = create_engine(killed)
    lock = holder.connect()
    lock.begin()
    # customers come last: holding the first due one stops the run there, every other table done
    lock.execute(text("SELECT id FROM customers WHERE id = :id FOR UPDATE"), {"id": PEOPLE.gunnhild})
    process = subprocess.Popen(args, env=env(killed, "b.sqlite3"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not _waiting(killed) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before it reached the held row"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        lock.rollback()
        lock.close()
        holder.dispose()
    assert process.returncode == -signal.SIGKILL
    assert PEOPLE.gunnhild in snapshot(killed)["customers"]  # the killed run had not finished customers

    again = subprocess.run(args, env=env(killed, "b.sqlite3"), capture_output=True, text=True, timeout=600)

    assert again.returncode == 0, again.stderr
    assert snapshot(killed) == snapshot(uninterrupted)
    assert orphans(killed) == []
