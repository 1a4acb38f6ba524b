"""Rights requests on a large database: the engine beside one hand-written query, in the same run.

    python bench/dsr.py [--server postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                        [--customers 1000000] [--runs 100]

1. Creates a database ``dataright_bench_<random>`` on the server (dropped at the end) and fills it at run time
   with ``generate_series``: N customers and their orders, order items, payments, invoices, support messages and
   web events (7 tables, about 10 rows per customer); one customer gets 100,000 web events besides.
2. Access: the engine's access request for ``--runs`` random customers, on one engine kept open across them
   (``keep_open``: its connectors, their reflected tables and compiled statements stay; the request pipeline
   opens them for each access package instead, a one-off cost per package left out here), median and p95,
   beside the same person's rows fetched by one hand-written statement (joins from the e-mail address to
   every table, UNION ALL), median and p95; the ratio of the medians. The two read each person one after the
   other, in turns: the engine first for every other person, the join first for the rest, after an untimed
   read of the person has brought their pages into PostgreSQL's buffers.
3. Erasure: the engine's erasure request (checkpointed, audited) for ``--runs`` other customers, median and p95.
4. Peak memory: a fresh process runs one access request and streams the rows to /dev/null, once for a customer
   with 10 rows and once for the one with 100,000; the peak RSS (ru_maxrss) of each and their difference.

Nothing here is part of the test suite; the figures depend on the machine, the ratios much less.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dataright.config import derive_keys
from dataright.declarations.datasets import Dataset
from dataright.declarations.loader import load
from dataright.engine.service import Engine, Request
from dataright.storage.engine import make_engine, make_session_factory
from dataright.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
HEAVY_ROWS = 100_000

SCHEMA = """
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, phone text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers(id), placed_on date NOT NULL);
CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders(id), sku text NOT NULL);
CREATE TABLE payments (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers(id), card_last4 text,
                       amount_cents int NOT NULL);
CREATE TABLE invoices (id bigint PRIMARY KEY, payment_id bigint REFERENCES payments(id), billed_name text);
CREATE TABLE support_messages (id bigint PRIMARY KEY, author_id bigint REFERENCES customers(id), body text);
CREATE TABLE web_events (id bigint PRIMARY KEY, customer_id bigint, path text NOT NULL);
"""
FILL = """
INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'Customer ' || g, '+4790' || g
    FROM generate_series(1, :n) g;
INSERT INTO orders SELECT g, (g + 1) / 2, date '2024-01-01' + (g % 700) FROM generate_series(1, 2 * :n) g;
INSERT INTO order_items SELECT g, (g + 1) / 2, 'SKU-' || (g % 97) FROM generate_series(1, 4 * :n) g;
INSERT INTO payments SELECT g, g, lpad((g % 10000)::text, 4, '0'), 1000 + g % 9000 FROM generate_series(1, :n) g;
INSERT INTO invoices SELECT g, g, 'Customer ' || g FROM generate_series(1, :n) g;
INSERT INTO support_messages SELECT g, g * 2, 'message ' || g FROM generate_series(1, :n / 2) g;
INSERT INTO web_events SELECT g, (g + 1) / 2, '/p/' || (g % 37) FROM generate_series(1, :n) g;
INSERT INTO web_events SELECT :n + g, 1, '/heavy/' || (g % 37) FROM generate_series(1, :heavy) g;
CREATE INDEX ON orders (customer_id); CREATE INDEX ON order_items (order_id); CREATE INDEX ON payments (customer_id);
CREATE INDEX ON invoices (payment_id); CREATE INDEX ON support_messages (author_id);
CREATE INDEX ON web_events (customer_id);
ANALYZE;
"""
ONE_QUERY = """
SELECT 'customers', row_to_json(c)::text FROM customers c WHERE c.email = :e
UNION ALL SELECT 'orders', row_to_json(o)::text FROM customers c JOIN orders o ON o.customer_id = c.id
    WHERE c.email = :e
UNION ALL SELECT 'order_items', row_to_json(i)::text FROM customers c JOIN orders o ON o.customer_id = c.id
    JOIN order_items i ON i.order_id = o.id WHERE c.email = :e
UNION ALL SELECT 'payments', row_to_json(p)::text FROM customers c JOIN payments p ON p.customer_id = c.id
    WHERE c.email = :e
UNION ALL SELECT 'invoices', row_to_json(v)::text FROM customers c JOIN payments p ON p.customer_id = c.id
    JOIN invoices v ON v.payment_id = p.id WHERE c.email = :e
UNION ALL SELECT 'support_messages', row_to_json(m)::text FROM customers c JOIN support_messages m
    ON m.author_id = c.id WHERE c.email = :e
UNION ALL SELECT 'web_events', row_to_json(w)::text FROM customers c JOIN web_events w ON w.customer_id = c.id
    WHERE c.email = :e
"""
DATASET = {
    "id": "shop",
    "url": "${BENCH_DB_URL}",
    "tables": [
        {
            "name": "customers",
            "primary_key": ["id"],
            "erasure": "delete_row",
            "fields": [
                {"name": "email", "data_categories": ["user.contact.email"], "identity": "email"},
                {"name": "name", "data_categories": ["user.name"]},
                {"name": "phone", "data_categories": ["user.contact.phone_number"]},
            ],
        },
        {
            "name": "orders",
            "primary_key": ["id"],
            "erasure": "delete_row",
            "fields": [
                {"name": "customer_id", "references": [{"field": "customers.id"}]},
                {"name": "placed_on", "data_categories": ["user.name"]},
            ],
        },
        {
            "name": "order_items",
            "primary_key": ["id"],
            "erasure": "delete_row",
            "fields": [{"name": "order_id", "references": [{"field": "orders.id"}]}, {"name": "sku"}],
        },
        {
            "name": "payments",
            "primary_key": ["id"],
            "erasure": "delete_row",
            "fields": [
                {"name": "customer_id", "references": [{"field": "customers.id"}]},
                {"name": "card_last4", "data_categories": ["user.contact.email"]},
                {"name": "amount_cents"},
            ],
        },
        {
            "name": "invoices",
            "primary_key": ["id"],
            "erasure": "delete_row",
            "fields": [
                {"name": "payment_id", "references": [{"field": "payments.id"}]},
                {"name": "billed_name", "data_categories": ["user.name"]},
            ],
        },
        {
            "name": "support_messages",
            "primary_key": ["id"],
            "fields": [
                {
                    "name": "author_id",
                    "references": [{"field": "customers.id"}],
                    "erasure": {"strategy": "null"},
                },
                {"name": "body", "data_categories": ["user.name"], "erasure": {"strategy": "redact", "value": "-"}},
            ],
        },
        {
            "name": "web_events",
            "primary_key": ["id"],
            "erasure": "delete_row",
            "fields": [{"name": "customer_id", "references": [{"field": "customers.id"}]}, {"name": "path"}],
        },
    ],
}


def make_engine_for(url: str, folder: Path, *, keep_open: bool) -> Engine:
    declaration = load(ROOT / "examples" / "nexalearn").declaration
    declaration = declaration.model_copy(update={"datasets": (Dataset.model_validate(DATASET),)})
    db = make_engine(f"sqlite:///{folder / f'dataright-{uuid.uuid4().hex[:6]}.sqlite3'}")
    upgrade(db)
    return Engine(
        declaration,
        session_factory=make_session_factory(db),
        keys=derive_keys(SECRET),
        environ={"BENCH_DB_URL": url},
        keep_open=keep_open,
        retries=0,
    )


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def rss_child(url: str, email: str) -> None:
    """Run one access request, stream its rows to /dev/null, print the rows and the peak RSS in KiB."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine_for(url, Path(folder), keep_open=False)
        rows = 0
        with Path(os.devnull).open("w") as sink:
            for section in engine.access(Request("access", "nexalearn", {"email": email})):
                for row in section.rows:
                    sink.write(json.dumps(row, default=str))
                rows += len(section.rows)
    print(json.dumps({"rows": rows, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rss-child", nargs=2, metavar=("URL", "EMAIL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child)
        return

    admin = create_engine(args.server, isolation_level="AUTOCOMMIT")
    name = f"dataright_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        run(url, args.customers, args.runs)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def run(url: str, n: int, runs: int) -> None:
    db = create_engine(url)
    started = time.perf_counter()
    with db.begin() as conn:
        conn.exec_driver_sql(SCHEMA)
        for statement in FILL.split(";"):
            if statement.strip():
                conn.execute(text(statement), {"n": n, "heavy": HEAVY_ROWS})
        # statistics, as autovacuum would gather them after such a load: both sides get the planner's best plan
        conn.exec_driver_sql("ANALYZE")
        total = sum(
            conn.execute(text(f"SELECT count(*) FROM {t['name']}")).scalar_one()  # type: ignore[index]
            for t in DATASET["tables"]  # type: ignore[union-attr]
        )
    print(f"database: {n:,} customers, {total:,} rows in 7 tables, built in {time.perf_counter() - started:.0f} s")

    rnd = random.Random(13)
    pick = rnd.sample(range(2, n + 1), 2 * runs)
    readers, erased = pick[:runs], pick[runs:]
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine_for(url, Path(folder), keep_open=True)
        for cid in readers[:3]:  # warm both paths alike
            list(engine.access(Request("access", "nexalearn", {"email": f"c{cid}@example.com"})))
        engine_times, join_times = [], []
        with db.connect() as conn:
            for cid in readers[:3]:
                conn.execute(text(ONE_QUERY), {"e": f"c{cid}@example.com"}).all()
            for i, cid in enumerate(readers):
                email = f"c{cid}@example.com"
                # the person's pages into PostgreSQL's buffers first (untimed): both sides then read them from
                # memory, and the comparison is of the work each does, not of which came first; from disk, the
                # same I/O would be added to both and bring the ratio nearer 1
                conn.execute(text(ONE_QUERY), {"e": email}).all()
                reads = [("engine", engine_times), ("join", join_times)]
                if i % 2:  # and in turns, so neither always runs right after the other
                    reads.reverse()
                counted: dict[str, int] = {}
                for side, times in reads:
                    t0 = time.perf_counter()
                    if side == "engine":
                        req = Request("access", "nexalearn", {"email": email})
                        counted[side] = sum(len(s.rows) for s in engine.access(req))
                    else:
                        counted[side] = len(conn.execute(text(ONE_QUERY), {"e": email}).all())
                    times.append(time.perf_counter() - t0)
                got, want = counted["engine"], counted["join"]
                assert got == want, f"customer {cid}: engine {got} rows, hand-written join {want}"
        erase_times = []
        for cid in erased:
            t0 = time.perf_counter()
            engine.erase(Request("erase", "nexalearn", {"email": f"c{cid}@example.com"}))
            erase_times.append(time.perf_counter() - t0)
        engine.close()
    a, j = statistics.median(engine_times), statistics.median(join_times)
    print(f"access  (engine, {runs} people, ~10 rows each): median {ms(a)}  p95 {ms(p95(engine_times))}")
    print(f"access  (one hand-written join, same people):  median {ms(j)}  p95 {ms(p95(join_times))}")
    print(f"access ratio engine / join (medians, rows in memory, in turns): {a / j:.2f}x  (target <= 1.5x)")
    print(
        f"erasure (engine, {runs} people, checkpointed + audited): median {ms(statistics.median(erase_times))}  "
        f"p95 {ms(p95(erase_times))}"
    )

    peaks = {}
    for label, email in (("10 rows", f"c{n // 2}@example.com"), ("100,000 rows", "c1@example.com")):
        out = subprocess.run(
            [sys.executable, __file__, "--rss-child", url, email], capture_output=True, text=True, check=True
        )
        peaks[label] = json.loads(out.stdout.strip().splitlines()[-1])
    for label, got in peaks.items():
        print(f"peak RSS, access for a subject with {label}: {got['maxrss_kib'] / 1024:.1f} MiB ({got['rows']:,} rows)")
    diff = (peaks["100,000 rows"]["maxrss_kib"] - peaks["10 rows"]["maxrss_kib"]) / 1024
    print(f"peak RSS difference: {diff:.1f} MiB  (target <= 50 MiB)")
    db.dispose()


if __name__ == "__main__":
    main()
