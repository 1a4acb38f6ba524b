"""Consent check throughput and latency, each beside a baseline measured in the same run.

    python bench/consent.py [--database postgresql://postgres@127.0.0.1:5432/postgres]
                            [--subjects 100000] [--requests 5000] [--rate 500] [--seconds 3]

1. Seeds a fresh database with N subjects of the NexaLearn example and a consent state for most of them
   (given, withdrawn or refused; a tenth have none): by default SQLite in a temporary folder, deleted
   afterwards; with ``--database postgresql://...`` a database ``dataright_bench_<random>`` created on that
   server (the URL names the server and a database to connect to for creating it) and dropped at the end.
   The rows are generated at run time and inserted in bulk; the ledger's own service is not what is measured.
   Then the planner's statistics are gathered (``VACUUM ANALYZE``; ``ANALYZE`` on SQLite), as autovacuum
   would have on a live database.
2. In-process: ``ConsentChecker.check`` on random subjects for a few seconds, against a bare primary-key
   SELECT of the same row on the same database (stdlib sqlite3, or psycopg 3 prepared on one connection).
3. HTTP: ``dataright serve`` under uvicorn in a subprocess on 127.0.0.1, ``GET /api/v1/consent/check`` at a
   steady rate (open loop: each request goes out at its scheduled time over a pool of keep-alive connections,
   whatever the pace of the answers) for a bounded number of requests; p50, p99 and the CPU time the server
   used per request (from ``/proc``: it depends much less than latency on what else the machine runs). Beside
   it, under the same uvicorn: on SQLite a bare FastAPI route returning a dict; on PostgreSQL a bare FastAPI
   route doing the same lookup with psycopg 3 through an asyncio pool of the same size as the server's check
   pool. Both servers run side by side and take turns, in rounds (the server's, the baseline's, the
   baseline's, the server's, ...), so that other work on a shared machine weighs on both alike.
4. HTTP burst: 64 connections at once, each sending its next request as soon as the last is answered (closed
   loop); requests per second, p50, p99 and the count of errors (any answer but 200, or no answer), for the
   server and the same baseline route, in turns likewise.

Nothing here is part of the test suite. The load average is printed at the end: the figures depend on the
machine and on what else runs on it, the ratios much less.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import psycopg
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

from dataright.access.service import create_key
from dataright.config import Settings, use_settings
from dataright.consent.check import ConsentChecker
from dataright.consent.models import ConsentEvent, ConsentState
from dataright.consent.rules import EventKind, rules_for
from dataright.consent.targets import Holder, Target
from dataright.declarations.loader import load
from dataright.identity.models import Subject
from dataright.storage.engine import make_engine, make_session_factory, normalise_url, session_scope
from dataright.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nexalearn"
CONTROLLER = "nexalearn"
TARGET = Target.purpose("analytics")
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
BATCH = 10_000
CONNECTIONS = 16
BURST_CONNECTIONS = 64
BURST_PER_CONNECTION = 40
CHECK_POOL_SIZE = 8  # the server's default check_pool_size; the PostgreSQL baseline's pool has as many
LOOKUP = (
    "SELECT status, event_id, expires_at, evidenced FROM consent_state "
    "WHERE controller_id = {p} AND holder = {p} AND target = {p}"
)
CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def seed(url: str, count: int) -> list[uuid.UUID]:
    """``count`` subjects; 60 % given, 20 % withdrawn, 10 % refused, 10 % nothing recorded."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(count)]
    kinds = [EventKind.given] * 6 + [EventKind.withdrawn] * 2 + [EventKind.refused]
    receipt = {"note": "seeded by bench/consent.py"}
    with session_scope(make_session_factory(engine)) as session:
        for start in range(0, count, BATCH):
            chunk = ids[start : start + BATCH]
            session.execute(insert(Subject), [{"id": i, "controller_id": CONTROLLER, "created_at": now} for i in chunk])
            events, states = [], []
            for offset, subject_id in enumerate(chunk):
                if (start + offset) % 10 == 9:
                    continue
                event_id = start + offset + 1
                kind = kinds[(start + offset) % 10]
                when = now - timedelta(days=random.randint(1, 300))
                events.append(
                    {
                        "id": event_id,
                        "receipt_id": uuid.uuid4(),
                        "controller_id": CONTROLLER,
                        "subject_id": subject_id,
                        "target": TARGET.code,
                        "kind": kind.value,
                        "notice_version": "bench",
                        "occurred_at": when,
                        "recorded_at": now,
                        "method": "import",
                        "actor": "bench",
                        "receipt": receipt,
                    }
                )
                states.append(
                    {
                        "controller_id": CONTROLLER,
                        "holder": Holder.subject(subject_id).code,
                        "target": TARGET.code,
                        "subject_id": subject_id,
                        "status": kind.value,
                        "event_id": event_id,
                        "occurred_at": when,
                        "expires_at": when + timedelta(days=365) if kind is EventKind.given else None,
                        "evidenced": True,
                    }
                )
            session.execute(insert(ConsentEvent), events)
            session.execute(insert(ConsentState), states)
    # Statistics, as autovacuum would gather on a real database: without them PostgreSQL, seeing freshly
    # bulk-loaded tables, plans the lookup on ix_consent_state_target and filters the whole target's rows
    # (~20 ms a lookup at 100,000 subjects), and both the server and the baseline measure that scan instead.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    engine.dispose()
    return ids


def rate_for(seconds: float, step: Callable[[int], object]) -> float:
    """Calls of ``step(i)`` per second over about ``seconds``."""
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(1000):
            step(calls)
            calls += 1
        if time.perf_counter() >= deadline:
            return calls / (time.perf_counter() - started)


def in_process(url: str, ids: list[uuid.UUID], seconds: float) -> tuple[float, float]:
    rng = random.Random(7)
    holders = [Holder.subject(rng.choice(ids)) for _ in range(65_536)]
    codes = [h.code for h in holders]

    bare: sqlite3.Connection | psycopg.Connection[Any]
    if url.startswith("sqlite"):
        bare = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        sql = LOOKUP.format(p="?")

        def bare_lookup(i: int) -> object:
            return bare.execute(sql, (CONTROLLER, codes[i & 65_535], TARGET.code)).fetchone()

    else:
        bare = psycopg.connect(libpq_url(url), autocommit=True)
        pg_sql = LOOKUP.format(p="%s")
        pg = bare

        def bare_lookup(i: int) -> object:
            return pg.execute(pg_sql, (CONTROLLER, codes[i & 65_535], TARGET.code), prepare=True).fetchone()

    engine = make_engine(url)
    checker = ConsentChecker(engine)
    rules = rules_for(load(EXAMPLE).declaration, CONTROLLER)

    def check(i: int) -> object:
        return checker.check(rules, holders[i & 65_535], TARGET)

    rate_for(0.3, bare_lookup), rate_for(0.3, check)  # warm both up
    baseline, ours = rate_for(seconds, bare_lookup), rate_for(seconds, check)
    checker.close()
    engine.dispose()
    bare.close()
    return ours, baseline


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database on the server of ``server_url``, dropped afterwards; yields its URL."""
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"dataright_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[tuple[str, int]]:
    """A server started with ``command``, answering on ``port``: yields its base URL and process id."""
    base = f"http://127.0.0.1:{port}"
    # the server's log goes to a file: a pipe nobody reads fills up and stalls the server when it logs
    log_path = cwd / f"server-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited: {log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start within 60 s")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        errors = [line for line in log_path.read_text(errors="replace").splitlines() if line.startswith("ERROR")]
        if errors:
            print(f"  (server log: {len(errors)} ERROR line(s); the first: {errors[0][:200]})", flush=True)


async def _connect(host: str, port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    return [await asyncio.open_connection(host, port) for _ in range(count)]


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[float, bytes]:
    """One request on a keep-alive connection: (latency in ms, status code)."""
    sent = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = CONTENT_LENGTH.search(head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return (time.perf_counter() - sent) * 1000, head[9:12]


def _request(path: str, host: str, extra: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


async def _open_loop(base: str, paths: list[str], headers: dict[str, str], rate: float) -> tuple[list[float], float]:
    """Send ``paths`` at ``rate`` per second whatever the answers' pace (open loop), over keep-alive connections.

    A raw HTTP/1.1 client on asyncio keeps the client's own cost small: it shares the machine with the server.
    Returns each request's latency (from writing it to reading the whole answer) and the rate achieved.
    """
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for connection in await _connect(host, port, CONNECTIONS):
        pool.put_nowait(connection)
    latencies: list[float] = []

    async def one(path: str) -> None:
        reader, writer = await pool.get()
        try:
            latency, status = await _get(reader, writer, _request(path, host, extra))
            latencies.append(latency)
            if status != b"200":
                raise SystemExit(f"GET {path}: {status.decode()}")
        finally:
            pool.put_nowait((reader, writer))

    tasks = []
    started = time.perf_counter()
    for i, path in enumerate(paths):
        wait = started + i / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(path)))
    await asyncio.gather(*tasks)
    achieved = len(paths) / (time.perf_counter() - started)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, achieved


async def _closed_loop(base: str, paths: list[str], headers: dict[str, str]) -> tuple[list[float], int, float]:
    """``BURST_CONNECTIONS`` connections at once, each sending its share of ``paths`` back to back.
    Returns the latencies of the answers that came, the count of errors (not 200, or no answer; a connection
    that fails is opened again) and the requests per second."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    connections = await _connect(host, port, BURST_CONNECTIONS)
    latencies: list[float] = []
    errors = 0

    async def client(index: int) -> None:
        nonlocal errors
        reader, writer = connections[index]
        for path in paths[index::BURST_CONNECTIONS]:
            try:
                latency, status = await asyncio.wait_for(_get(reader, writer, _request(path, host, extra)), 30)
                latencies.append(latency)
                errors += status != b"200"
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(BURST_CONNECTIONS)))
    return latencies, errors, len(paths) / (time.perf_counter() - started)


# Both servers run side by side and take turns: the steady requests go in rounds, the server's and the
# baseline's alternately (ABBA), and so does the burst, so that work elsewhere on a shared machine weighs on
# both alike instead of on whichever ran when it did.
STEADY_ROUNDS = 10
BURST_ROUNDS = 2


class Endpoint(NamedTuple):
    base: str
    pid: int
    paths: list[str]
    burst_paths: list[str]
    headers: dict[str, str]


def _turns(rounds: int) -> Iterator[tuple[int, int]]:
    """(round, 0 or 1) in ABBA order: 0 1, 1 0, 0 1, ..."""
    for r in range(rounds):
        yield from ((r, 0), (r, 1)) if r % 2 == 0 else ((r, 1), (r, 0))


def _cut(paths: list[str], rounds: int, r: int) -> list[str]:
    size = -(-len(paths) // rounds)
    return paths[r * size : (r + 1) * size]


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far; NaN where ``/proc`` does not say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steady(servers: tuple[Endpoint, Endpoint], rate: float) -> list[tuple[float, float, float, float]]:
    """Per server: (p50 ms, p99 ms, requests per second achieved, server CPU µs per request) after a short
    warm-up of each. The CPU a server used per request depends much less than latency on what else the
    machine runs."""
    for server in servers:
        asyncio.run(_open_loop(server.base, server.paths[:200], server.headers, rate))
    latencies: list[list[float]] = [[], []]
    seconds, cpu = [0.0, 0.0], [0.0, 0.0]
    for r, k in _turns(STEADY_ROUNDS):
        part = _cut(servers[k].paths, STEADY_ROUNDS, r)
        used = cpu_seconds(servers[k].pid)
        measured, achieved = asyncio.run(_open_loop(servers[k].base, part, servers[k].headers, rate))
        cpu[k] += cpu_seconds(servers[k].pid) - used
        latencies[k] += measured
        seconds[k] += len(part) / achieved
    result = []
    for k in (0, 1):
        cuts = statistics.quantiles(latencies[k], n=100)
        count = len(latencies[k])
        result.append((cuts[49], cuts[98], count / seconds[k], cpu[k] / count * 1e6))
    return result


def burst(servers: tuple[Endpoint, Endpoint]) -> list[tuple[float, float, float, int]]:
    """Per server: (p50 ms, p99 ms, requests per second, errors) of closed-loop bursts over 64 connections."""
    latencies: list[list[float]] = [[], []]
    errors, seconds, sent = [0, 0], [0.0, 0.0], [0, 0]
    for r, k in _turns(BURST_ROUNDS):
        part = _cut(servers[k].burst_paths, BURST_ROUNDS, r)
        measured, failed, achieved = asyncio.run(_closed_loop(servers[k].base, part, servers[k].headers))
        latencies[k] += measured
        errors[k] += failed
        seconds[k] += len(part) / achieved
        sent[k] += len(part)
    result = []
    for k in (0, 1):
        cuts = statistics.quantiles(latencies[k], n=100) if len(latencies[k]) > 1 else [float("nan")] * 99
        result.append((cuts[49], cuts[98], sent[k] / seconds[k], errors[k]))
    return result


BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/check")
    def check() -> dict[str, object]:
        return {"target": "purpose:analytics", "allowed": True, "basis": "consent", "reason": "consent_given",
                "event_id": 1}
    """
)

# The same lookup as the server's check, with psycopg 3 through an asyncio pool, and the same JSON answer.
BARE_PG_APP = textwrap.dedent(
    f"""
    import os
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from psycopg_pool import AsyncConnectionPool

    SQL = {LOOKUP.format(p="%s")!r}
    pool = AsyncConnectionPool(
        os.environ["BENCH_PG_URL"], min_size={CHECK_POOL_SIZE}, max_size={CHECK_POOL_SIZE},
        kwargs={{"autocommit": True}}, open=False,
    )


    @asynccontextmanager
    async def lifespan(app):
        await pool.open(wait=True)
        yield
        await pool.close()


    app = FastAPI(lifespan=lifespan)


    @app.get("/check")
    async def check(controller: str, subject_id: str, purpose: str) -> dict[str, object]:
        target = "purpose:" + purpose
        async with pool.connection() as connection:
            cursor = await connection.execute(SQL, (controller, "s:" + subject_id, target))
            row = await cursor.fetchone()
        allowed = row is not None and row[0] == "given"
        return {{"target": target, "allowed": allowed, "basis": "consent",
                "reason": "consent_given" if allowed else "no_consent", "event_id": row[1] if row else None}}
    """
)

Figures = tuple[float, ...]


def http(
    folder: Path, url: str, ids: list[uuid.UUID], requests: int, rate: float
) -> tuple[Figures, Figures, Figures, Figures]:
    """(ours steady, baseline steady, ours burst, baseline burst)."""
    # The client shares the process with the seeded ids and everything imported; a full garbage collection of
    # those took ~80 ms here, during which the client neither sent on schedule nor read answers (then sent a
    # burst). Freezing them keeps the client's collections small, for both servers alike.
    gc.collect()
    gc.freeze()
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        _, token = create_key(session, name="bench", scopes=["consent:read"], controller_ids=[CONTROLLER])
    engine.dispose()
    env = {**os.environ, "DATARIGHT_DATABASE_URL": url, "DATARIGHT_SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
    rng = random.Random(11)
    chosen = [rng.choice(ids) for _ in range(requests)]
    bursting = [rng.choice(ids) for _ in range(BURST_CONNECTIONS * BURST_PER_CONNECTION)]
    query = f"controller={CONTROLLER}&subject_id={{}}&purpose=analytics"

    serve = "from dataright.cli.main import app; app()"
    port = free_port()
    ours_command = [sys.executable, "-c", serve, "serve", "--port", str(port), "--declarations", str(EXAMPLE)]
    postgres = not url.startswith("sqlite")
    (folder / "bare_app.py").write_text(BARE_PG_APP if postgres else BARE_APP)
    if postgres:
        env["BENCH_PG_URL"] = libpq_url(url)
    bare_port = free_port()
    bare_command = [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port", str(bare_port)]
    auth = {"Authorization": f"Bearer {token}"}
    with server(ours_command, env, folder, port) as ours_server, server(bare_command, env, folder, bare_port) as bare:
        (base, pid), (bare_base, bare_pid) = ours_server, bare
        servers = (
            Endpoint(
                base,
                pid,
                [f"/api/v1/consent/check?{query.format(s)}" for s in chosen],
                [f"/api/v1/consent/check?{query.format(s)}" for s in bursting],
                auth,
            ),
            Endpoint(
                bare_base,
                bare_pid,
                [f"/check?{query.format(s)}" if postgres else "/check" for s in chosen],
                [f"/check?{query.format(s)}" if postgres else "/check" for s in bursting],
                {},
            ),
        )
        ours, baseline = steady(servers, rate)
        ours_burst, baseline_burst = burst(servers)
    return ours, baseline, ours_burst, baseline_burst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        help="postgresql://user@host:port/db: measure on a new database created on that server (default: SQLite)",
    )
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=500.0, help="HTTP requests per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each in-process measurement")
    args = parser.parse_args()
    if args.database and not normalise_url(args.database).startswith("postgresql"):
        parser.error(f"--database {args.database}: give a postgresql:// URL (SQLite is the default)")

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dataright-bench-")))
        if args.database:
            url = stack.enter_context(postgres_database(args.database))
            where = make_url(url).render_as_string(hide_password=True)
        else:
            path = folder / "bench.sqlite3"
            url = f"sqlite:///{path}"
            where = str(path)
        use_settings(Settings(database_url=url, secret_key=SECRET))
        started = time.perf_counter()
        ids = seed(url, args.subjects)
        print(f"seeded {len(ids):,} subjects in {time.perf_counter() - started:.1f} s ({where})")

        ours, baseline = in_process(url, ids, args.seconds)
        bare = "bare psycopg PK lookup" if args.database else "bare sqlite3 PK lookup"
        print(f"in-process checks:   {ours:>10,.0f} /s   {bare}: {baseline:>10,.0f} /s   ratio {ours / baseline:.2f}")
        (p50, p99, achieved, cpu), (b50, b99, b_achieved, b_cpu), burst_ours, burst_bare = http(
            folder, url, ids, args.requests, args.rate
        )
        route = "bare FastAPI+psycopg pool route" if args.database else "bare FastAPI route"
        print(
            f"HTTP check, {args.requests:,} requests at {achieved:.0f} req/s: p50 {p50:.2f} ms, p99 {p99:.2f} ms   "
            f"{route} at {b_achieved:.0f} req/s: p50 {b50:.2f} ms, p99 {b99:.2f} ms   "
            f"ratio p50 {p50 / b50:.2f}, p99 {p99 / b99:.2f}"
        )
        print(f"server CPU per request at that rate: {cpu:.0f} µs   {route}: {b_cpu:.0f} µs   ratio {cpu / b_cpu:.2f}")
        (q50, q99, q_rate, q_errors), (c50, c99, c_rate, c_errors) = burst_ours, burst_bare
        print(
            f"HTTP check, {BURST_CONNECTIONS} concurrent connections, {BURST_CONNECTIONS * BURST_PER_CONNECTION:,} "
            f"requests: {q_rate:.0f} req/s, p50 {q50:.2f} ms, p99 {q99:.2f} ms, errors {q_errors}   "
            f"{route}: {c_rate:.0f} req/s, p50 {c50:.2f} ms, p99 {c99:.2f} ms, errors {c_errors}"
        )
        print("load average (1, 5, 15 min): {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
