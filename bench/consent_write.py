"""Consent writes under concurrency, over HTTP, beside a bare INSERT of the same rows in the same run.

    python bench/consent_write.py [--writes 400] [--levels 1,16,64,256] [--backends sqlite,postgresql]

For each database (a temporary SQLite file; a throw-away PostgreSQL database on 127.0.0.1:5432, dropped
afterwards), ``dataright serve`` runs under uvicorn in a subprocess on 127.0.0.1. At each level, that many
clients (keep-alive connections of a raw HTTP/1.1 client on asyncio, light enough not to compete with the
server for the machine's cores) send ``POST /api/v1/consent/events`` for a new subject each, ``--writes``
writes in all (a bounded loop; every body is generated here at run time), in two turns taken alternately
with the bare INSERTs below (ABBA), so that other work on a shared machine weighs on both alike. Afterwards
every write is looked up by its ``import_key``: an acknowledged (201) write must be there and a refused
(503) one must not; anything else is counted as ambiguous. Beside it, the same number of threads insert the same rows a
write stores with plain INSERTs through the same driver (sqlite3 / psycopg), one transaction each: the
subject and its identifier, the event, its current state and two audit entries.

Targets: no 500 and no ambiguous write at any level; PostgreSQL at 64 clients >= 0.3x the bare insert;
SQLite at 64 clients >= 0.5x its own single-client rate. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from consent import CONTENT_LENGTH, free_port, server  # bench/consent.py: the uvicorn subprocess helpers
from sqlalchemy import create_engine, select

from dataright.access.service import create_key
from dataright.config import Settings, use_settings
from dataright.consent.models import ConsentEvent
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nexalearn"
CONTROLLER = "nexalearn"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RECEIPT = json.dumps({"note": "x" * 900})  # about the size of a real receipt


@dataclass
class Outcome:
    seconds: float
    statuses: dict[int, int]
    transport_errors: int
    ambiguous: int

    @property
    def acknowledged(self) -> int:
        return self.statuses.get(201, 0)

    def __add__(self, other: Outcome) -> Outcome:
        statuses = dict(self.statuses)
        for status, count in other.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
        return Outcome(
            self.seconds + other.seconds,
            statuses,
            self.transport_errors + other.transport_errors,
            self.ambiguous + other.ambiguous,
        )


# The server's writes and the bare INSERTs take turns at each level, in rounds (the server's, the bare
# INSERTs', the bare INSERTs', the server's: ABBA), so that other work on a shared machine weighs on both alike
# instead of on whichever ran when it did; each side's rate is its writes over its own time.
ROUNDS = 2


def _turns(rounds: int) -> list[tuple[int, int]]:
    """(round, 0 for the server or 1 for the bare INSERTs) in ABBA order."""
    return [turn for r in range(rounds) for turn in (((r, 0), (r, 1)) if r % 2 == 0 else ((r, 1), (r, 0)))]


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
) -> tuple[int, bytes]:
    """One POST on a keep-alive connection: (status, answer body)."""
    writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    answer = await reader.readuntil(b"\r\n\r\n")
    length = CONTENT_LENGTH.search(answer)
    content = await reader.readexactly(int(length.group(1)) if length else 0)
    return int(answer[9:12]), content


async def _clients(base: str, token: str, clients: int, keys: list[str]) -> tuple[dict[str, int], float]:
    """``clients`` keep-alive connections, each sending its next write when the last one is answered.

    A raw HTTP/1.1 client on asyncio (as in bench/consent.py): it shares the two cores with the server and the
    database, and httpx spent about as much CPU per request as the server did, so the figures measured the
    load client as much as the server. A connection that fails or takes more than 60 s counts as no answer.
    """
    results: dict[str, int] = {}
    queue = list(reversed(keys))
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (
        f"POST /api/v1/consent/events?controller={CONTROLLER} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    ).encode()

    async def worker() -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while queue:
            key = queue.pop()
            body = {
                "subject": {"email": f"w.{uuid.uuid4().hex}@example.org"},
                "purpose": "analytics",
                "kind": "given",
                "import_key": key,
            }
            try:
                if connection is None:
                    connection = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
                status, _ = await asyncio.wait_for(_post(*connection, head, json.dumps(body).encode()), 60)
                results[key] = status
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
                results[key] = -1
                if connection is not None:
                    connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return results, time.perf_counter() - started


def over_http(base: str, token: str, url: str, clients: int, writes: int) -> Outcome:
    keys = [f"bench-{uuid.uuid4().hex}" for _ in range(writes)]
    results, seconds = asyncio.run(_clients(base, token, clients, keys))
    engine = make_engine(url)
    with engine.connect() as connection:
        stored = set(
            connection.execute(select(ConsentEvent.import_key).where(ConsentEvent.import_key.in_(keys))).scalars()
        )
    engine.dispose()
    statuses: dict[int, int] = {}
    ambiguous = 0
    for key, status in results.items():
        statuses[status] = statuses.get(status, 0) + 1
        present = key in stored
        if (status == 201 and not present) or (status != 201 and present):
            ambiguous += 1
    return Outcome(seconds, statuses, statuses.get(-1, 0), ambiguous)


# ------------------------------------------------------------------------------------------------
# the baseline: plain INSERTs of the same rows through the same driver
# ------------------------------------------------------------------------------------------------
INSERTS = [
    "INSERT INTO subjects (id, controller_id, created_at) VALUES ({p}, {p}, {p})",
    "INSERT INTO consent_events (receipt_id, controller_id, subject_id, target, kind, notice_version, occurred_at,"
    " recorded_at, method, actor, receipt) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
    "INSERT INTO consent_state (controller_id, holder, target, subject_id, status, event_id, occurred_at, evidenced)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
    "INSERT INTO audit_entries (at, actor, action, entity_type, entity_id, controller_id, details)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
    "INSERT INTO subject_identifiers (subject_id, controller_id, kind, hash, ciphertext, created_at)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
]


def _one_write(cursor: object, style: str, last_id: Callable[[object], int]) -> None:
    p = "?" if style == "qmark" else "%s"
    subject = uuid.uuid4()
    sid = subject.hex if style == "qmark" else subject
    now = datetime.now(UTC)
    when = now.isoformat() if style == "qmark" else now
    execute = cursor.execute  # type: ignore[attr-defined]
    execute(INSERTS[0].format(p=p), (sid, CONTROLLER, when))
    execute(INSERTS[4].format(p=p), (sid, CONTROLLER, "email", uuid.uuid4().hex * 2, os.urandom(60), when))
    execute(INSERTS[3].format(p=p), (when, "bench", "subject.created", "subject", str(subject), CONTROLLER, "{}"))
    rid = uuid.uuid4().hex if style == "qmark" else uuid.uuid4()
    args = (rid, CONTROLLER, sid, "purpose:analytics", "given", "1", when, when, "api", "bench", RECEIPT)
    execute(INSERTS[1].format(p=p) + (" RETURNING id" if style != "qmark" else ""), args)
    event_id = last_id(cursor)
    execute(
        INSERTS[2].format(p=p),
        (
            CONTROLLER,
            f"s:{subject}",
            "purpose:analytics",
            sid,
            "given",
            event_id,
            when,
            0 if style == "qmark" else False,
        ),
    )
    execute(
        INSERTS[3].format(p=p), (when, "bench", "consent.given", "consent_event", str(event_id), CONTROLLER, '{"n":1}')
    )


def bare(url: str, clients: int, writes: int) -> Outcome:
    """``writes`` transactions of the same four rows from ``clients`` threads, each on its own connection."""
    sqlite_path = url.removeprefix("sqlite:///") if url.startswith("sqlite") else None
    counter = iter(range(writes))
    lock = threading.Lock()
    errors = [0]
    refused = [0]

    def connect() -> tuple[object, str, Callable[[object], int]]:
        if sqlite_path is not None:
            connection = sqlite3.connect(sqlite_path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute("PRAGMA synchronous=NORMAL")
            return connection, "qmark", lambda c: int(c.lastrowid)  # type: ignore[attr-defined]
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(conninfo), "format", lambda c: int(c.fetchone()[0])  # type: ignore[attr-defined]

    # Connections are opened before the clock starts and closed after it stops, as the server's pool is open
    # before its turn: what is timed is the writes alone.
    ready, finished = threading.Barrier(clients + 1), threading.Barrier(clients + 1)

    def work() -> None:
        try:
            connection, style, last_id = connect()
        except Exception:  # the server's max_connections reached: this thread does no work, the others do
            with lock:
                refused[0] += 1
            ready.wait()
            finished.wait()
            return
        ready.wait()
        try:
            while True:
                with lock:
                    if next(counter, None) is None:
                        break
                try:
                    cursor = connection.cursor()  # type: ignore[attr-defined]
                    if style == "qmark":
                        cursor.execute("BEGIN IMMEDIATE")
                    _one_write(cursor, style, last_id)
                    connection.commit() if style != "qmark" else cursor.execute("COMMIT")  # type: ignore[attr-defined]
                except Exception:
                    errors[0] += 1
                    with suppress(Exception):
                        connection.rollback()  # type: ignore[attr-defined]
        finally:
            finished.wait()
            connection.close()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    finished.wait()
    seconds = time.perf_counter() - started
    for thread in threads:
        thread.join()
    if refused[0]:
        print(f"  (bare INSERT: {refused[0]} of {clients} connections refused by the server; ran on the rest)")
    return Outcome(seconds, {201: writes - errors[0]}, errors[0], 0)


# ------------------------------------------------------------------------------------------------
def run_backend(
    name: str, url: str, folder: Path, levels: list[int], writes: int, workers: int
) -> dict[int, tuple[float, float]]:
    upgrade(url)
    use_settings(Settings(database_url=url, secret_key=SECRET))
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        _, token = create_key(session, name="bench", scopes=["consent:write"], controller_ids=[CONTROLLER])
    engine.dispose()
    env = {**os.environ, "DATARIGHT_DATABASE_URL": url, "DATARIGHT_SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
    port = free_port()
    serve = "from dataright.cli.main import app; app()"
    command = [sys.executable, "-c", serve, "serve", "--port", str(port), "--declarations", str(EXAMPLE)]
    command += ["--no-access-log", "--workers", str(workers)]
    rates: dict[int, tuple[float, float]] = {}
    with server(command, env, folder, port) as (base, _pid):
        over_http(base, token, url, 4, 40)  # warm up
        for clients in levels:
            ours, baseline = Outcome(0.0, {}, 0, 0), Outcome(0.0, {}, 0, 0)
            for r, side in _turns(ROUNDS):
                part = writes // ROUNDS + (1 if r < writes % ROUNDS else 0)
                if side == 0:
                    ours = ours + over_http(base, token, url, clients, part)
                else:
                    baseline = baseline + bare(url, clients, part)
            ours_rate, bare_rate = ours.acknowledged / ours.seconds, baseline.acknowledged / baseline.seconds
            rates[clients] = (ours_rate, bare_rate)
            others = sum(n for s, n in ours.statuses.items() if s not in (201, 503, 500, -1))
            print(
                f"{name:<10} clients {clients:>3}: {ours_rate:7.1f} writes/s (201 {ours.acknowledged}, "
                f"503 {ours.statuses.get(503, 0)}, 500 {ours.statuses.get(500, 0)}, other {others}, "
                f"no answer in 60 s {ours.transport_errors}, "
                f"ambiguous {ours.ambiguous})  bare INSERT {bare_rate:7.1f}/s (errors {baseline.transport_errors})"
                f"  ratio {ours_rate / bare_rate:.2f}x",
                flush=True,
            )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=400, help="writes per level (bounded)")
    parser.add_argument("--levels", default="1,16,64,256")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes (dataright serve --workers); default: one per core, as a deployment runs it",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    print(
        f"server: dataright serve --workers {args.workers} (server processes); bare INSERT: one thread and connection"
        f" per client in one process; {ROUNDS} turns each, ABBA; load average at start"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="dataright-bench-") as scratch:
        folder = Path(scratch)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                rates = run_backend(
                    "sqlite", f"sqlite:///{folder / 'bench.sqlite3'}", folder, levels, args.writes, args.workers
                )
                if 1 in rates and 64 in rates:
                    print(f"sqlite     64 clients vs 1 client: {rates[64][0] / rates[1][0]:.2f}x (target >= 0.5x)")
                continue
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            name = f"dataright_bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
                rates = run_backend("postgresql", url, folder, levels, args.writes, args.workers)
                if 64 in rates:
                    print(f"postgresql 64 clients vs bare INSERT: {rates[64][0] / rates[64][1]:.2f}x (target >= 0.3x)")
            finally:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
