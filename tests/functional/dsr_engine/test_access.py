"""Access on real PostgreSQL and MariaDB databases: all of the person's rows, and only theirs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from dataright.engine.service import Request
from fixtures.elearning import PEOPLE

from .conftest import EngineFactory

# The same person's rows found by hand-written joins, one statement per table.
GUARDIAN_ROWS = {
    "customers": "SELECT id FROM customers WHERE email = :e",
    "children": "SELECT ch.id FROM children ch JOIN customers c ON c.id = ch.guardian_id WHERE c.email = :e",
    "enrollments": """SELECT e.id FROM enrollments e LEFT JOIN customers c ON c.id = e.customer_id
        LEFT JOIN children ch ON ch.id = e.child_id LEFT JOIN customers g ON g.id = ch.guardian_id
        WHERE c.email = :e OR g.email = :e OR ch.email = :e""",
    "lessons": """SELECT l.id FROM lessons l JOIN enrollments e ON e.id = l.enrollment_id
        LEFT JOIN customers c ON c.id = e.customer_id LEFT JOIN children ch ON ch.id = e.child_id
        LEFT JOIN customers g ON g.id = ch.guardian_id WHERE c.email = :e OR g.email = :e OR ch.email = :e""",
    "payments": "SELECT p.id FROM payments p JOIN customers c ON c.id = p.customer_id WHERE c.email = :e",
    "invoices": """SELECT i.id FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id
        LEFT JOIN payments p ON p.id = i.payment_id LEFT JOIN customers pc ON pc.id = p.customer_id
        WHERE c.email = :e OR pc.email = :e""",
    "support_threads": "SELECT t.id FROM support_threads t JOIN customers c ON c.id = t.opened_by WHERE c.email = :e",
    "support_messages": "SELECT m.id FROM support_messages m JOIN customers c ON c.id = m.author_id WHERE c.email = :e",
    "web_events": "SELECT w.id FROM web_events w JOIN customers c ON c.id = w.customer_id WHERE c.email = :e",
    "analytics_profiles": """SELECT a.id FROM analytics_profiles a JOIN customers c ON c.id = a.customer_id
        WHERE c.email = :e""",
}
CHILD_ROWS = {
    "children": "SELECT id FROM children WHERE email = :e",
    "enrollments": "SELECT e.id FROM enrollments e JOIN children ch ON ch.id = e.child_id WHERE ch.email = :e",
    "lessons": """SELECT l.id FROM lessons l JOIN enrollments e ON e.id = l.enrollment_id
        JOIN children ch ON ch.id = e.child_id WHERE ch.email = :e""",
}


def expected(url: str, queries: dict[str, str], email: str) -> set[tuple[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {(t, i) for t, q in queries.items() for i in conn.execute(text(q), {"e": email}).scalars()}
    finally:
        engine.dispose()


def found(dsr_engine: EngineFactory, url: str, email: str) -> set[tuple[str, Any]]:
    engine = dsr_engine(url)
    sections = engine.access(Request("access", "nexalearn", {"email": email}), chunk_rows=50)
    return {(s.table, row["id"]) for s in sections for row in s.rows}


def test_a_guardian_gets_her_own_and_both_childrens_rows_in_every_table(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    rows = found(dsr_engine, elearning_url, PEOPLE.gunnhild_email)

    assert rows == expected(elearning_url, GUARDIAN_ROWS, PEOPLE.gunnhild_email)
    assert {("children", PEOPLE.ola), ("children", PEOPLE.kari)} <= rows
    assert len(rows) > 30


def test_a_child_gets_his_own_rows_but_not_his_sisters_or_his_guardians(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    rows = found(dsr_engine, elearning_url, PEOPLE.ola_email)

    assert rows == expected(elearning_url, CHILD_ROWS, PEOPLE.ola_email)
    assert ("children", PEOPLE.kari) not in rows
    assert not any(table == "customers" for table, _ in rows)


def test_two_people_in_one_support_thread_each_get_only_their_own_messages(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    astrid = found(dsr_engine, elearning_url, PEOPLE.astrid_email)
    bjorn = found(dsr_engine, elearning_url, PEOPLE.bjorn_email)

    assert astrid == expected(elearning_url, GUARDIAN_ROWS, PEOPLE.astrid_email)
    assert bjorn == expected(elearning_url, GUARDIAN_ROWS, PEOPLE.bjorn_email)
    assert ("support_threads", PEOPLE.thread) in astrid and ("support_threads", PEOPLE.thread) not in bjorn
    messages = {i for t, i in astrid if t == "support_messages"}, {i for t, i in bjorn if t == "support_messages"}
    assert messages[0] and messages[1] and not messages[0] & messages[1]


def test_an_unknown_person_has_no_rows(elearning_url: str, dsr_engine: EngineFactory) -> None:
    assert found(dsr_engine, elearning_url, "nobody@example.org") == set()


def test_rows_come_back_with_their_columns_types_though_every_table_is_read_in_one_statement(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    from datetime import date

    engine = dsr_engine(elearning_url)
    rows: dict[str, list[dict[str, Any]]] = {}
    for section in engine.access(Request("access", "nexalearn", {"email": PEOPLE.gunnhild_email})):
        rows.setdefault(section.table, []).extend(section.rows)

    lesson = rows["lessons"][0]
    assert lesson["attended"] in (True, False) and isinstance(lesson["held_on"], date)  # MariaDB: TINYINT(1)
    assert all(isinstance(p["amount_cents"], int) for p in rows["payments"])
    assert isinstance(rows["customers"][0]["id"], int)


def test_a_worker_that_keeps_its_connectors_open_answers_each_person_with_their_own_rows(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    """The access statement is compiled once per shape of request and run again with each person's values."""
    engine = dsr_engine(elearning_url)
    engine.keep_open = True
    try:
        for email in (PEOPLE.gunnhild_email, PEOPLE.astrid_email, PEOPLE.bjorn_email, PEOPLE.gunnhild_email):
            sections = engine.access(Request("access", "nexalearn", {"email": email}))
            assert {(s.table, r["id"]) for s in sections for r in s.rows} == expected(
                elearning_url, GUARDIAN_ROWS, email
            )
    finally:
        engine.close()


def test_a_person_with_more_rows_than_one_chunk_gets_the_same_rows_streamed_as_read_at_once(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    engine = dsr_engine(elearning_url)
    request = Request("access", "nexalearn", {"email": PEOPLE.gunnhild_email})

    at_once = list(engine.access(request, chunk_rows=10_000))
    streamed = list(engine.access(request, chunk_rows=3))

    assert len(at_once) < len(streamed) and all(len(s.rows) <= 3 for s in streamed)
    rows = {(s.table, r["id"]): r for s in at_once for r in s.rows}
    assert {(s.table, r["id"]): r for s in streamed for r in s.rows} == rows
