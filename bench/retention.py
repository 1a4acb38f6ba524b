"""Retention sweep throughput on PostgreSQL, beside one raw DELETE and a row-by-row loop in the same run.

    python bench/retention.py [--database postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                              [--rows 1000000] [--expired 0.3] [--batch-size 50000] [--sample 20000]

1. Creates a database ``dataright_bench_<random>`` on the server the URL names and fills a table of web
   events (``--rows``, 1,000,000 by default) inside the server (``generate_series``), a random ``--expired``
   share (30 %) older than the 12-month retention rule, spread over the whole key range. Three copies are
   made from it (``CREATE DATABASE ... TEMPLATE``), so each measurement starts from the same rows.
2. Sweep: ``dataright.retention.service.Retention.run`` with a retention binding on the table (the rule of
   the NexaLearn example for security logs: delete 12 months after collection), batches of ``--batch-size``.
3. Raw DELETE: one ``DELETE FROM web_events WHERE occurred_on <= :cutoff`` on the second copy.
4. Row by row: the expired keys read in one query, then one ``DELETE ... WHERE id = %s`` per row from Python
   (psycopg 3, prepared, one transaction: the most favourable form of it) for ``--sample`` rows on the third
   copy; its rate is extrapolated from the sample (stated in the output).

Every figure is rows deleted per second of wall time; the ratios are what carries between machines. All
databases are dropped at the end. Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url

from dataright.config import derive_keys
from dataright.declarations.loader import load
from dataright.declarations.schema import Declaration
from dataright.retention.service import DEFAULT_BATCH, Retention
from dataright.storage.engine import make_engine, make_session_factory
from dataright.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 6, 1)
RULE = "security-logs"  # NexaLearn: delete 12 months after collection
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def _admin(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, dbname=url.database or "postgres", autocommit=True,
    )  # fmt: skip


def _connect(url: URL, name: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, dbname=name,
    )  # fmt: skip


def fill(url: URL, name: str, rows: int, expired: float) -> None:
    """The web events, a random share of them older than the rule's twelve months."""
    with _connect(url, name) as conn:
        conn.execute(
            """CREATE TABLE web_events (
                   id bigint PRIMARY KEY,
                   customer_id integer,
                   ip varchar(45),
                   device_id varchar(40),
                   path varchar(200) NOT NULL,
                   occurred_on date NOT NULL)"""
        )
        conn.execute(
            """INSERT INTO web_events
               SELECT g, (g %% 50000) + 1, '10.0.' || (g %% 250) || '.' || (g %% 199), 'dev-' || (g %% 77777),
                      '/p/' || (g %% 37),
                      CASE WHEN random() < %(expired)s THEN %(today)s::date - 400 - (g %% 300)
                           ELSE %(today)s::date - (g %% 300) END
               FROM generate_series(1, %(rows)s) AS g""",
            {"rows": rows, "expired": expired, "today": TODAY},
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE web_events")


def declaration(url: str) -> Declaration:
    """NexaLearn's declaration with one dataset: the bench table under its security-log rule."""
    base = load(ROOT / "examples" / "nexalearn").declaration
    data = base.model_dump(mode="json", exclude_none=True)
    data["datasets"] = [
        {
            "id": "bench",
            "controllers": ["nexalearn"],
            "url": url,
            "tables": [
                {
                    "name": "web_events",
                    "primary_key": ["id"],
                    "erasure": "delete_row",
                    "fields": [
                        {"name": "customer_id"},
                        {"name": "ip", "data_categories": ["user.device.ip_address"]},
                        {"name": "device_id", "data_categories": ["user.device.device_id"]},
                        {"name": "path", "data_categories": ["user.behavior.browsing_history"]},
                        {"name": "occurred_on"},
                    ],
                    "retention": [{"rule": RULE, "column": "occurred_on"}],
                }
            ],
        }
    ]
    return Declaration.model_validate(data)


def expired_count(url: URL, name: str, cutoff: date) -> int:
    with _connect(url, name) as conn:
        row = conn.execute("SELECT count(*) FROM web_events WHERE occurred_on <= %s", (cutoff,)).fetchone()
        assert row is not None
        return int(str(row[0]))


def checkpoint(url: URL, name: str) -> None:
    with _connect(url, name) as conn:
        conn.autocommit = True
        conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--expired", type=float, default=0.3)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()
    url = make_url(args.database)
    tag = uuid.uuid4().hex[:8]
    base, names = f"dataright_bench_{tag}", [f"dataright_bench_{tag}_{k}" for k in ("sweep", "raw", "rows")]
    admin = _admin(url)
    made: list[str] = []
    try:
        admin.execute(f'CREATE DATABASE "{base}"')
        made.append(base)
        started = time.perf_counter()
        fill(url, base, args.rows, args.expired)
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')
            made.append(name)
        print(f"filled {args.rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        sweep_url = url.set(database=names[0]).render_as_string(hide_password=False)
        decl = declaration("${BENCH_DB_URL}")
        cutoff = TODAY.replace(year=TODAY.year - 1)  # 12 months before TODAY: due on or before it
        expired = expired_count(url, base, cutoff)
        print(f"expired: {expired:,} rows ({expired / args.rows:.1%}), occurred_on <= {cutoff}", flush=True)

        # 1. the sweep
        with tempfile.TemporaryDirectory() as folder:
            db = make_engine(f"sqlite:///{Path(folder) / 'dataright.sqlite3'}")
            upgrade(db)
            retention = Retention(
                decl,
                controller_id="nexalearn",
                session_factory=make_session_factory(db),
                keys=derive_keys(SECRET),
                environ={"BENCH_DB_URL": sweep_url},
                today=TODAY,
                batch_size=args.batch_size,
            )
            policy = next(p for p in retention.policies() if p.rule_id == RULE and p.dataset.id == "bench")
            assert policy.due_through == cutoff, policy.why
            checkpoint(url, names[0])
            started = time.perf_counter()
            outcome = retention.run()
            sweep_s = time.perf_counter() - started
            db.dispose()
        swept = sum(r.acted for r in outcome.rules if r.dataset == "bench")
        assert swept == expired and expired_count(url, names[0], cutoff) == 0, (swept, expired)
        sweep_rate = swept / sweep_s

        # 2. one raw DELETE
        checkpoint(url, names[1])
        with _connect(url, names[1]) as conn:
            started = time.perf_counter()
            gone = conn.execute("DELETE FROM web_events WHERE occurred_on <= %s", (cutoff,)).rowcount
            conn.commit()
            raw_s = time.perf_counter() - started
        assert gone == expired
        raw_rate = gone / raw_s

        # 3. row by row from Python, on a sample
        checkpoint(url, names[2])
        with _connect(url, names[2]) as conn:
            started = time.perf_counter()
            keys = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM web_events WHERE occurred_on <= %s ORDER BY id LIMIT %s", (cutoff, args.sample)
                )
            ]
            for key in keys:
                conn.execute("DELETE FROM web_events WHERE id = %s", (key,), prepare=True)
            conn.commit()
            rows_s = time.perf_counter() - started
        row_rate = len(keys) / rows_s

        print(f"sweep (retention run, batches of {args.batch_size:,}): {swept:,} rows in {sweep_s:.2f} s = "
              f"{sweep_rate:,.0f} rows/s")  # fmt: skip
        print(f"baseline raw DELETE ... WHERE occurred_on <= cutoff: {gone:,} rows in {raw_s:.2f} s = "
              f"{raw_rate:,.0f} rows/s")  # fmt: skip
        print(f"baseline row by row (one DELETE per row, sample of {len(keys):,} rows, extrapolated): "
              f"{len(keys):,} rows in {rows_s:.2f} s = {row_rate:,.0f} rows/s "
              f"(all {expired:,} would take ~{expired / row_rate:.0f} s)")  # fmt: skip
        print(f"ratio sweep / raw DELETE: {sweep_rate / raw_rate:.2f}x (target >= 0.5x)")
        print(f"ratio sweep / row by row: {sweep_rate / row_rate:.1f}x (target >= 25x)")
    finally:
        for name in reversed(made):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        create_engine("sqlite://").dispose()


if __name__ == "__main__":
    main()
