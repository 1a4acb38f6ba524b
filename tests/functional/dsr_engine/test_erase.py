"""Erasure on real PostgreSQL and MariaDB databases: only the person's rows change, legal holds keep their
fields, every constraint holds afterwards, and running it again changes nothing."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from dataright.engine.service import Request
from fixtures.elearning import OLD, PEOPLE

from .conftest import EngineFactory, orphans, snapshot
from .test_access import GUARDIAN_ROWS, expected

ERASE = Request("erase", "nexalearn", {"email": PEOPLE.gunnhild_email})


def test_erasing_a_guardian_changes_only_her_rows_and_keeps_the_bookkeeping_fields(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    url = fresh_elearning_url
    mine = expected(url, GUARDIAN_ROWS, PEOPLE.gunnhild_email)
    before = snapshot(url)

    outcome = dsr_engine(url).erase(ERASE)

    after = snapshot(url)
    for table, rows in before.items():
        for key, row in rows.items():
            if (table, key) not in mine:
                assert after[table].get(key) == row, f"{table} {key} is not hers but changed"
    for table in ("customers", "children", "enrollments", "lessons", "web_events"):
        assert not any((table, key) in mine for key in after[table]), f"{table}: her rows are still there"
    payments = [before["payments"][k] for t, k in mine if t == "payments"]
    for payment in payments:
        kept = after["payments"].get(payment["id"])
        if payment["paid_on"] == OLD:  # the hold has run out: the row goes
            assert kept is None
            continue
        assert kept is not None
        assert (kept["amount_cents"], kept["paid_on"]) == (payment["amount_cents"], payment["paid_on"])
        assert kept["customer_id"] is None and kept["card_last4"] is None
        assert kept["stripe_charge_id"].startswith("ps_") and kept["stripe_charge_id"] != payment["stripe_charge_id"]
    held_invoices = [k for t, k in mine if t == "invoices" and k in after["invoices"]]
    assert held_invoices
    for key in held_invoices:
        old, new = before["invoices"][key], after["invoices"][key]
        assert (new["amount_cents"], new["issued_on"], new["number"]) == (
            old["amount_cents"],
            old["issued_on"],
            old["number"],
        )
        assert new["billed_name"] == "[erased]" and new["billed_address"] is None and new["customer_id"] is None
        assert new["billed_email"].startswith("ps_")
    thread = after["support_threads"].get(PEOPLE.thread)
    assert thread == before["support_threads"][PEOPLE.thread]  # Astrid's thread: not Gunnhild's
    assert orphans(url) == []
    steps = {s.table: s for s in outcome.steps}
    assert steps["invoices"].kept == {"amount_cents": "bookkeeping-no", "issued_on": "bookkeeping-no"}
    assert steps["customers"].deleted == 1


def test_erasing_the_same_person_again_changes_nothing(fresh_elearning_url: str, dsr_engine: EngineFactory) -> None:
    engine = dsr_engine(fresh_elearning_url)
    engine.erase(ERASE)
    once = snapshot(fresh_elearning_url)

    again = engine.erase(ERASE)

    assert snapshot(fresh_elearning_url) == once
    assert all(s.deleted == 0 and not any(s.fields.values()) for s in again.steps)


def test_erasing_one_writer_of_a_shared_thread_leaves_the_other_writers_messages(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    before = snapshot(fresh_elearning_url)

    dsr_engine(fresh_elearning_url).erase(Request("erase", "nexalearn", {"email": PEOPLE.astrid_email}))

    after = snapshot(fresh_elearning_url)
    thread = [k for k, m in before["support_messages"].items() if m["thread_id"] == PEOPLE.thread]
    for key in thread:
        if before["support_messages"][key]["author_id"] == PEOPLE.bjorn:
            assert after["support_messages"][key] == before["support_messages"][key]
        else:
            assert after["support_messages"][key]["body"] == "[erased]"
            assert after["support_messages"][key]["author_id"] is None
    assert after["support_threads"][PEOPLE.thread]["subject"] == "[erased]"
    assert PEOPLE.bjorn in after["customers"] and PEOPLE.astrid not in after["customers"]


def test_a_dry_run_counts_per_table_and_field_and_changes_nothing(
    elearning_url: str, dsr_engine: EngineFactory
) -> None:
    before = snapshot(elearning_url)

    outcome = dsr_engine(elearning_url).erase(
        Request("erase", "nexalearn", {"email": PEOPLE.gunnhild_email}, dry_run=True)
    )

    assert snapshot(elearning_url) == before
    counts = {s.table: s for s in outcome.steps}
    mine = expected(elearning_url, GUARDIAN_ROWS, PEOPLE.gunnhild_email)
    for table in GUARDIAN_ROWS:
        assert counts[table].rows == sum(1 for t, _ in mine if t == table)
    assert counts["invoices"].fields["billed_name"] == counts["invoices"].held_rows > 0
    assert outcome.run_id is None


def test_an_erasure_that_would_break_a_constraint_is_refused_before_anything_runs(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    engine = create_engine(fresh_elearning_url)
    with engine.begin() as conn:  # the live schema drifts: a column the declaration erases becomes NOT NULL
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE invoices ALTER COLUMN billed_address SET NOT NULL"))
        else:
            conn.execute(text("ALTER TABLE invoices MODIFY billed_address VARCHAR(300) NOT NULL"))
    engine.dispose()
    before = snapshot(fresh_elearning_url)

    try:
        dsr_engine(fresh_elearning_url).erase(ERASE)
    except Exception as exc:
        assert "nexalearn-platform.invoices.billed_address: erasure sets NULL but the column is NOT NULL" in str(exc)
    else:
        raise AssertionError("the erasure ran")
    assert snapshot(fresh_elearning_url) == before
