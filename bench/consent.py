"""Consent check throughput and latency, each beside a baseline measured in the same run.

    python bench/consent.py [--subjects 100000] [--requests 5000] [--rate 500] [--seconds 3]

1. Seeds a fresh SQLite database (in a temporary folder, deleted afterwards) with N subjects of the
   NexaLearn example and a consent state for most of them (given, withdrawn or refused; a tenth have none).
   The rows are generated at run time and inserted in bulk; the ledger's own service is not what is measured.
2. In-process: ``ConsentChecker.check`` on random subjects for a few seconds, against a bare stdlib sqlite3
   primary-key SELECT of the same row on the same database.
3. HTTP: ``dataright serve`` under uvicorn in a subprocess on 127.0.0.1, ``GET /api/v1/consent/check`` at a
   steady rate (open loop: each request goes out at its scheduled time over a pool of keep-alive connections,
   whatever the pace of the answers) for a bounded number of requests, against a bare FastAPI route returning
   a dict under the same uvicorn; p50 and p99 of each.

Nothing here is part of the test suite; the figures depend on the machine, the ratios much less.
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
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert

from dataright.access.service import create_key
from dataright.config import Settings, use_settings
from dataright.consent.check import ConsentChecker
from dataright.consent.models import ConsentEvent, ConsentState
from dataright.consent.rules import EventKind, rules_for
from dataright.consent.targets import Holder, Target
from dataright.declarations.loader import load
from dataright.identity.models import Subject
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nexalearn"
CONTROLLER = "nexalearn"
TARGET = Target.purpose("analytics")
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
BATCH = 10_000
CONNECTIONS = 16
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


def in_process(url: str, path: Path, ids: list[uuid.UUID], seconds: float) -> tuple[float, float]:
    rng = random.Random(7)
    holders = [Holder.subject(rng.choice(ids)) for _ in range(65_536)]
    codes = [h.code for h in holders]

    bare = sqlite3.connect(path, isolation_level=None)
    sql = (
        "SELECT status, event_id, expires_at, evidenced FROM consent_state "
        "WHERE controller_id = ? AND holder = ? AND target = ?"
    )

    def bare_lookup(i: int) -> object:
        return bare.execute(sql, (CONTROLLER, codes[i & 65_535], TARGET.code)).fetchone()

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _open_loop(base: str, paths: list[str], headers: dict[str, str], rate: float) -> tuple[list[float], float]:
    """Send ``paths`` at ``rate`` per second whatever the answers' pace (open loop), over keep-alive connections.

    A raw HTTP/1.1 client on asyncio keeps the client's own cost small: it shares the machine with the server.
    Returns each request's latency (from writing it to reading the whole answer) and the rate achieved.
    """
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []

    async def one(path: str) -> None:
        reader, writer = await pool.get()
        try:
            sent = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = CONTENT_LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append((time.perf_counter() - sent) * 1000)
            if head[9:12] != b"200":
                raise SystemExit(f"GET {path}: {head[:12].decode()}")
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


def steady(base: str, paths: list[str], headers: dict[str, str], rate: float) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests per second achieved) after a short warm-up."""
    asyncio.run(_open_loop(base, paths[:200], headers, rate))
    latencies, achieved = asyncio.run(_open_loop(base, paths, headers, rate))
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98], achieved


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


def http(folder: Path, url: str, ids: list[uuid.UUID], requests: int, rate: float) -> tuple[tuple[float, ...], ...]:
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

    port = free_port()
    serve = "from dataright.cli.main import app; app()"
    command = [sys.executable, "-c", serve, "serve", "--port", str(port), "--declarations", str(EXAMPLE)]
    with server(command, env, folder, port) as base:
        paths = [f"/api/v1/consent/check?controller={CONTROLLER}&subject_id={s}&purpose=analytics" for s in chosen]
        ours = steady(base, paths, {"Authorization": f"Bearer {token}"}, rate)

    (folder / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port", str(port)]
    with server(command, env, folder, port) as base:
        baseline = steady(base, ["/check"] * requests, {}, rate)
    return ours, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=500.0, help="HTTP requests per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each in-process measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dataright-bench-") as scratch:
        folder = Path(scratch)
        path = folder / "bench.sqlite3"
        url = f"sqlite:///{path}"
        use_settings(Settings(database_url=url, secret_key=SECRET))
        started = time.perf_counter()
        ids = seed(url, args.subjects)
        print(
            f"seeded {len(ids):,} subjects in {time.perf_counter() - started:.1f} s ({path.stat().st_size >> 20} MiB)"
        )

        ours, baseline = in_process(url, path, ids, args.seconds)
        print(
            f"in-process checks:   {ours:>10,.0f} /s   bare sqlite3 PK lookup: {baseline:>10,.0f} /s   "
            f"ratio {ours / baseline:.2f}"
        )
        (p50, p99, achieved), (b50, b99, b_achieved) = http(folder, url, ids, args.requests, args.rate)
        print(
            f"HTTP check, {args.requests:,} requests at {achieved:.0f} req/s: p50 {p50:.2f} ms, p99 {p99:.2f} ms   "
            f"bare FastAPI route at {b_achieved:.0f} req/s: p50 {b50:.2f} ms, p99 {b99:.2f} ms   "
            f"ratio p50 {p50 / b50:.2f}, p99 {p99 / b99:.2f}"
        )


if __name__ == "__main__":
    main()
