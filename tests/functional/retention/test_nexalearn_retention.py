"""NexaLearn's retention promises, kept by the sweep on real PostgreSQL and MariaDB databases.

Section 6 of the notice: an account is deactivated when the customer relationship ends and is then visible
only to the highest staff role; all personal data is deleted at the latest six months later unless the law
says keep it (bookkeeping: five years after the financial year, bokføringsloven § 13); a withdrawal of
consent is logged and the data it covered deleted at the next run; statistics are anonymised.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from dataright.declarations.periods import Period
from dataright.declarations.schema import Declaration
from fixtures.elearning import OLD, PEOPLE, TODAY
from functional.dsr_engine.conftest import orphans, snapshot

from .conftest import RetentionFactory, audit_entries, days_ago, execute, file_access_request, rows

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ENDED_LONG_AGO = days_ago(200, TODAY)  # more than six months ago
ENDED_LATELY = days_ago(30, TODAY)
RECENTLY_CLOSED = 10
RESTRICTED = 12


def _end_relationships(url: str) -> None:
    execute(
        url,
        ("UPDATE customers SET relationship_ended_on = :d WHERE id IN (1, 2, 12)", {"d": ENDED_LONG_AGO}),
        ("UPDATE customers SET relationship_ended_on = :d WHERE id = 10", {"d": ENDED_LATELY}),
        ("UPDATE customers SET processing_restricted = :t WHERE id = 12", {"t": True}),
    )


def test_six_months_after_the_relationship_ends_her_data_goes_but_bookkeeping_amounts_stay(
    fresh_elearning_url: str, retention: RetentionFactory, nexalearn: Declaration, dataright_db: Engine
) -> None:
    url = fresh_elearning_url
    _end_relationships(url)
    file_access_request(dataright_db, nexalearn, "nexalearn", PEOPLE.astrid_email)
    before = snapshot(url)
    sweep = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY, batch_size=7)

    planned = sweep.plan()
    outcome = sweep.run()

    after = snapshot(url)
    # Gunnhild: her account, her children and their learning data are gone
    assert PEOPLE.gunnhild not in after["customers"]
    assert PEOPLE.ola not in after["children"] and PEOPLE.kari not in after["children"]
    assert not [e for e in after["enrollments"].values() if e["customer_id"] == PEOPLE.gunnhild]
    # her payments: the one whose hold ran out is gone; the held ones keep amount and date, nothing of her
    hers = [p for p in before["payments"].values() if p["customer_id"] == PEOPLE.gunnhild]
    for payment in hers:
        kept = after["payments"].get(payment["id"])
        if payment["paid_on"] == OLD:
            assert kept is None
            continue
        assert kept is not None
        assert (kept["amount_cents"], kept["paid_on"]) == (payment["amount_cents"], payment["paid_on"])
        assert kept["customer_id"] is None and kept["card_last4"] is None
        assert kept["stripe_charge_id"].startswith("ps_")
    # the legal hold keeps invoice amounts while the names are erased
    held = [i for i in before["invoices"].values() if i["customer_id"] == PEOPLE.gunnhild and i["issued_on"] != OLD]
    assert held
    for invoice in held:
        new = after["invoices"][invoice["id"]]
        assert (new["amount_cents"], new["issued_on"], new["number"]) == (
            invoice["amount_cents"],
            invoice["issued_on"],
            invoice["number"],
        )
        assert new["billed_name"] == "[erased]" and new["billed_address"] is None and new["customer_id"] is None
        assert new["billed_email"].startswith("ps_")
    # Astrid's open access request postpones her deletion; a restricted account is kept
    assert after["customers"][PEOPLE.astrid] == {**before["customers"][PEOPLE.astrid], "visible_to": "owner"}
    assert after["customers"][RESTRICTED] == {**before["customers"][RESTRICTED], "visible_to": "owner"}
    # closed a month ago: deactivated (only the highest staff role sees it), not deleted
    assert after["customers"][RECENTLY_CLOSED]["visible_to"] == "owner"
    assert after["customers"][RECENTLY_CLOSED]["email"] == before["customers"][RECENTLY_CLOSED]["email"]
    # nobody else's account changed
    for key, row in before["customers"].items():
        if key not in (PEOPLE.gunnhild, PEOPLE.astrid, RESTRICTED, RECENTLY_CLOSED):
            assert after["customers"][key] == row
    assert orphans(url) == []

    rule = next(r for r in outcome.rules if r.rule_id == "account-closure-6m")
    counts = {t.table: t for t in rule.tables}
    assert counts["customers"].deleted == 1 and counts["customers"].deactivated == 3
    assert counts["invoices"].held == {"bookkeeping-no": len(held)}
    planned_rule = next(r for r in planned.rules if r.rule_id == "account-closure-6m")
    planned_counts = {t.table: t for t in planned_rule.tables}
    assert {t: c.acted for t, c in planned_counts.items()} == {t: c.acted for t, c in counts.items()}
    assert planned_counts["customers"].postponed == 1 and planned_counts["customers"].restricted == 1

    entries = audit_entries(dataright_db)
    actions = [e.action for e in entries]
    assert actions[0] == "retention.run.started" and actions[-1] == "retention.run.completed"
    completed = next(e for e in entries if e.entity_id == "account-closure-6m")
    assert completed.action == "retention.rule.completed"
    assert completed.details["acted"] == rule.acted and "@" not in str(completed.details)


def test_a_second_run_finds_nothing_left_to_do(
    fresh_elearning_url: str, retention: RetentionFactory, nexalearn: Declaration
) -> None:
    url = fresh_elearning_url
    _end_relationships(url)
    sweep = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY)
    sweep.run()
    once = snapshot(url)

    again = sweep.run()

    assert snapshot(url) == once
    assert all(n == 0 for n in again.per_rule().values())
    assert all(n == 0 for n in sweep.plan().per_rule().values())


def test_withdrawn_analytics_consent_is_deleted_at_the_next_run(
    fresh_elearning_url: str, retention: RetentionFactory, nexalearn: Declaration
) -> None:
    url = fresh_elearning_url
    execute(url, ("UPDATE analytics_profiles SET consent_withdrawn_on = :d WHERE id = 5", {"d": days_ago(1, TODAY)}))
    before = {r["id"] for r in rows(url, "SELECT id FROM analytics_profiles")}

    outcome = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY).run()

    after = {r["id"] for r in rows(url, "SELECT id FROM analytics_profiles")}
    assert before - after == {5}
    assert outcome.per_rule()["consent-withdrawn"] == 1


def test_a_sweep_in_small_batches_over_keys_with_wide_gaps_deletes_exactly_what_is_due(
    fresh_elearning_url: str, retention: RetentionFactory, nexalearn: Declaration
) -> None:
    """The sweep pages through an integer key in ranges of ``batch_size`` values (PostgreSQL) or of due rows
    (MariaDB); gaps of millions between keys and ranges with nothing due in them must not end it early."""
    url = fresh_elearning_url
    execute(
        url,
        ("UPDATE analytics_profiles SET id = id * 1000003 WHERE id % 4 = 1", {}),
        ("UPDATE analytics_profiles SET consent_withdrawn_on = :d WHERE id % 3 = 0", {"d": days_ago(1, TODAY)}),
    )
    before = {r["id"] for r in rows(url, "SELECT id FROM analytics_profiles")}
    due = {r["id"] for r in rows(url, "SELECT id FROM analytics_profiles WHERE consent_withdrawn_on IS NOT NULL")}
    assert len(due) > 4 and any(i > 1_000_000 for i in due) and before - due

    outcome = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY, batch_size=2).run()

    assert {r["id"] for r in rows(url, "SELECT id FROM analytics_profiles")} == before - due
    assert outcome.per_rule()["consent-withdrawn"] == len(due)


def test_statistics_older_than_fourteen_months_are_anonymised_and_still_count(
    fresh_elearning_url: str, retention: RetentionFactory, nexalearn: Declaration
) -> None:
    url = fresh_elearning_url
    query = "SELECT id, customer_id, ip, device_id, path, occurred_on FROM web_events"
    before = {r["id"]: r for r in rows(url, query)}

    outcome = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY, batch_size=500).run()

    after = {r["id"]: r for r in rows(url, query)}
    fourteen_months = Period.parse("P14M")
    old = [k for k, r in before.items() if fourteen_months.after(r["occurred_on"]) <= TODAY]
    assert old and len(old) < len(before)
    for key, row in after.items():
        if key in old:
            assert (row["customer_id"], row["ip"], row["device_id"]) == (None, None, None)
            assert (row["path"], row["occurred_on"]) == (before[key]["path"], before[key]["occurred_on"])
        else:
            assert row == before[key]
    assert Counter(r["path"] for r in after.values()) == Counter(r["path"] for r in before.values())
    assert outcome.per_rule()["statistics-anonymise"] == sum(
        1 for k in old if before[k]["ip"] is not None or before[k]["customer_id"] is not None
    )


def _six_months_up_on(today: date) -> date:
    """The latest end of a relationship whose six months are up by ``today``."""
    six_months = Period.parse("P6M")
    ended = days_ago(200, today)
    while six_months.after(ended + timedelta(days=1)) <= today:
        ended += timedelta(days=1)
    assert six_months.after(ended) <= today < six_months.after(ended + timedelta(days=1))
    return ended


def test_an_account_is_deactivated_when_the_relationship_ends_and_deleted_the_day_six_months_are_up(
    fresh_elearning_url: str, retention: RetentionFactory, nexalearn: Declaration
) -> None:
    url = fresh_elearning_url
    due = _six_months_up_on(TODAY)
    ended = {5: due, 7: due + timedelta(days=1), 8: TODAY}  # six months up today; up tomorrow; ended today
    for customer, day in ended.items():
        execute(url, ("UPDATE customers SET relationship_ended_on = :d WHERE id = :c", {"d": day, "c": customer}))
    before = snapshot(url)
    assert all(before["customers"][c]["visible_to"] != "owner" for c in ended)

    outcome = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY).run()

    after = snapshot(url)
    assert 5 not in after["customers"]  # at the latest six months later: deleted on the day they are up
    for customer in (7, 8):  # until then only the highest staff role sees the account; nothing else changes
        assert after["customers"][customer] == {**before["customers"][customer], "visible_to": "owner"}
    rule = next(r for r in outcome.rules if r.rule_id == "account-closure-6m")
    customers = next(t for t in rule.tables if t.table == "customers")
    assert (customers.deleted, customers.deactivated) == (1, 2)

    tomorrow = retention(nexalearn, "nexalearn", {"NEXALEARN_DB_URL": url}, today=TODAY + timedelta(days=1)).run()
    assert 7 not in snapshot(url)["customers"] and 8 in snapshot(url)["customers"]
    assert tomorrow.per_rule()["account-closure-6m"] >= 1
