"""An erasure killed half-way (SIGKILL) and run again ends exactly where an uninterrupted one does."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dataright.declarations.schema import Declaration
from dataright.engine.service import Request
from fixtures.db import TEST_SECRET
from fixtures.elearning import PEOPLE, ServerDatabases, make_elearning

from .conftest import EngineFactory, orphans, snapshot

ROOT = Path(__file__).resolve().parents[3]
COMMAND = [sys.executable, "-m", "dataright.cli.main"]


def _steps(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM engine_steps").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_killed_erasure_resumes_to_the_same_end_state_as_an_uninterrupted_one(
    server_databases: dict[str, ServerDatabases],
    dsr_engine: EngineFactory,
    tmp_path: Path,
    backend: str,
    nexalearn: Declaration,
) -> None:
    before_customers = len(nexalearn.dataset_by_id["nexalearn-platform"].tables) - 1
    uninterrupted, killed = (make_elearning(server_databases, backend) for _ in range(2))
    dsr_engine(uninterrupted).erase(Request("erase", "nexalearn", {"email": PEOPLE.gunnhild_email}))

    db = tmp_path / "dataright.sqlite3"
    env = {
        **os.environ,
        "DATARIGHT_DATABASE_URL": f"sqlite:///{db}",
        "DATARIGHT_SECRET_KEY": TEST_SECRET,
        "DATARIGHT_DECLARATIONS": str(ROOT / "examples" / "nexalearn"),
        "NEXALEARN_DB_URL": killed,
    }
    args = [*COMMAND, "dsr", "erase", "--controller", "nexalearn", "--email", PEOPLE.gunnhild_email]
    holder = create_engine(killed)
    lock = holder.connect()
    lock.begin()
    # customers are erased last: holding her row makes the run wait there, every other table done
    lock.execute(text("SELECT id FROM customers WHERE id = :id FOR UPDATE"), {"id": PEOPLE.gunnhild})
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _steps(db) < before_customers and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert _steps(db) == before_customers, "the run did not reach the last table"
        time.sleep(0.5)
        assert process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        lock.rollback()
        lock.close()
        holder.dispose()
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM engine_runs").fetchall() == [("running",)]

    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)

    assert again.returncode == 0, again.stderr
    assert f"resumed after {before_customers} finished step(s)" in again.stdout
    assert snapshot(killed) == snapshot(uninterrupted)
    assert orphans(killed) == []
