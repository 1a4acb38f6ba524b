"""Nestpros and NestIT's retention promises, kept by the sweep on real PostgreSQL and MariaDB databases.

Nestpros ("Data Retention"): on expiry data is deleted or anonymised, keeping only what a law requires
(financial records under the Companies Act and the Income Tax Act). NestIT ("How your personal data is
stored"): accounting records are kept until the end of the seventh year after the financial year
(bokföringslagen 7 kap. 2 §), analysis data is anonymised.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Column, Date, ForeignKey, Integer, MetaData, String, Table, Text, create_engine, insert

from dataright.declarations.schema import Declaration
from fixtures.elearning import ServerDatabases, _require_services

from .conftest import RetentionFactory, rows

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TODAY = date(2026, 12, 7)
DATASTORES = Path(__file__).resolve().parent / "datastores"


def with_datastore(declaration: Declaration, name: str) -> Declaration:
    """The example's declaration (its rules, holds and financial year) over the test's datastore layout."""
    data = declaration.model_dump(mode="json", exclude_none=True)
    data["datasets"] = yaml.safe_load((DATASTORES / f"{name}.yaml").read_text(encoding="utf-8"))["datasets"]
    return Declaration.model_validate(data)


@pytest.fixture(params=["postgresql", "mariadb"])
def server_url(request: pytest.FixtureRequest, server_databases: dict[str, ServerDatabases]) -> Iterator[str]:
    databases = server_databases[str(request.param)]
    if not databases.available():
        if _require_services():
            pytest.fail(f"{request.param} does not answer and DATARIGHT_REQUIRE_SERVICES=1")
        pytest.skip(f"{request.param} does not answer")
    yield databases.create()


def _fill(url: str, metadata: MetaData, data: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            for name, values in data.items():
                conn.execute(insert(metadata.tables[name]), values)
    finally:
        engine.dispose()


# -- Nestpros ---------------------------------------------------------------------------------------
nestpros_tables = MetaData()
Table(
    "members",
    nestpros_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(40)),
    Column("background", String(200)),
    Column("closed_on", Date),
)
Table(
    "subscriptions",
    nestpros_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("member_id", ForeignKey("members.id")),
    Column("billed_name", String(200)),
    Column("billed_email", String(200)),
    Column("plan", String(40), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("paid_on", Date, nullable=False),
)
Table(
    "support_cases",
    nestpros_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("member_id", ForeignKey("members.id")),
    Column("message", Text, nullable=False),
    Column("closed_on", Date),
)
Table(
    "research_answers",
    nestpros_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("member_id", ForeignKey("members.id")),
    Column("background", String(200)),
    Column("preferences", String(200)),
    Column("usage", String(200)),
    Column("collected_on", Date, nullable=False),
)


def _nestpros(url: str) -> None:
    ago = lambda days: TODAY - timedelta(days=days)  # noqa: E731
    members = [
        {"id": 1, "email": "lee@example.sg", "name": "Lee", "background": "nurse", "closed_on": ago(400)},
        {"id": 2, "email": "tan@example.sg", "name": "Tan", "background": "engineer", "closed_on": ago(100)},
        {"id": 3, "email": "lim@example.sg", "name": "Lim", "background": "teacher", "closed_on": None},
    ]
    subscriptions = [
        # Lee's: one paid two years ago (its financial records are still kept), one nine years ago (not any more)
        {"id": 1, "member_id": 1, "billed_name": "Lee", "billed_email": "lee@example.sg", "plan": "pro",
         "amount_cents": 19900, "paid_on": date(TODAY.year - 2, 3, 1)},
        {"id": 2, "member_id": 1, "billed_name": "Lee", "billed_email": "lee@example.sg", "plan": "basic",
         "amount_cents": 9900, "paid_on": date(TODAY.year - 9, 3, 1)},
        {"id": 3, "member_id": 2, "billed_name": "Tan", "billed_email": "tan@example.sg", "plan": "pro",
         "amount_cents": 19900, "paid_on": date(TODAY.year - 1, 5, 1)},
    ]  # fmt: skip
    cases = [
        {"id": 1, "member_id": 3, "message": "certificate missing", "closed_on": ago(800)},
        {"id": 2, "member_id": 3, "message": "login", "closed_on": ago(300)},
        {"id": 3, "member_id": 3, "message": "still open", "closed_on": None},
    ]
    answers = [
        {"id": k, "member_id": 3 if k % 2 else 2, "background": "teacher", "preferences": f"pref {k % 3}",
         "usage": f"weekly {k % 4}", "collected_on": ago(30 * k)}
        for k in range(1, 25)
    ]  # fmt: skip
    _fill(
        url,
        nestpros_tables,
        {"members": members, "subscriptions": subscriptions, "support_cases": cases, "research_answers": answers},
    )


def test_nestpros_deletes_or_anonymises_at_expiry_keeping_only_the_financial_records_the_law_requires(
    server_url: str, retention: RetentionFactory, nestpros: Declaration
) -> None:
    _nestpros(server_url)
    before_answers = {r["id"]: r for r in rows(server_url, "SELECT * FROM research_answers")}

    outcome = retention(
        with_datastore(nestpros, "nestpros"), "nestpros", {"NESTPROS_DB_URL": server_url}, today=TODAY, batch_size=3
    ).run()

    assert not outcome.failed
    members = {r["id"]: r for r in rows(server_url, "SELECT * FROM members")}
    assert set(members) == {2, 3}  # Lee closed more than twelve months ago; Tan a hundred days ago
    subscriptions = {r["id"]: r for r in rows(server_url, "SELECT * FROM subscriptions")}
    assert set(subscriptions) == {1, 3}  # the nine-year-old record is past the Income Tax Act's six years
    kept = subscriptions[1]
    assert (kept["plan"], kept["amount_cents"], kept["paid_on"]) == ("pro", 19900, date(TODAY.year - 2, 3, 1))
    assert kept["member_id"] is None and kept["billed_name"] == "[erased]"
    assert kept["billed_email"].startswith("ps_")
    assert subscriptions[3]["billed_name"] == "Tan"
    assert {r["id"] for r in rows(server_url, "SELECT id FROM support_cases")} == {2, 3}  # two years after closing
    answers = {r["id"]: r for r in rows(server_url, "SELECT * FROM research_answers")}
    assert set(answers) == set(before_answers)
    for key, answer in answers.items():
        old = before_answers[key]
        assert (answer["preferences"], answer["usage"], answer["collected_on"]) == (
            old["preferences"],
            old["usage"],
            old["collected_on"],
        )
        if old["collected_on"] <= TODAY.replace(year=TODAY.year - 1):
            assert answer["member_id"] is None and answer["background"] is None
        else:
            assert answer == old
    assert outcome.per_rule() == {"account": 1 + 2 + 0, "communication-logs": 1, "research-data": 12}


# -- NestIT -----------------------------------------------------------------------------------------
nestit_tables = MetaData()
Table(
    "customers",
    nestit_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", String(300)),
    Column("relationship_ended_on", Date),
)
Table(
    "vouchers",
    nestit_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", ForeignKey("customers.id")),
    Column("billed_name", String(200)),
    Column("billed_address", String(300)),
    Column("items", String(300), nullable=False),
    Column("amount_ore", Integer, nullable=False),
    Column("booked_on", Date, nullable=False),
)
Table(
    "purchase_analytics",
    nestit_tables,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("customer_id", ForeignKey("customers.id")),
    Column("category", String(40), nullable=False),
    Column("amount_ore", Integer, nullable=False),
    Column("bought_on", Date, nullable=False),
)


def _nestit(url: str) -> None:
    customers = [
        {"id": 1, "email": "anna@example.se", "name": "Anna", "address": "Storgatan 1", "relationship_ended_on": None},
        {"id": 2, "email": "erik@example.se", "name": "Erik", "address": "Lillgatan 2",
         "relationship_ended_on": date(2022, 6, 1)},
    ]  # fmt: skip
    vouchers = [
        {"id": 1, "customer_id": 1, "billed_name": "Anna", "billed_address": "Storgatan 1", "items": "router",
         "amount_ore": 129900, "booked_on": date(2019, 3, 10)},
        {"id": 2, "customer_id": 1, "billed_name": "Anna", "billed_address": "Storgatan 1", "items": "cable",
         "amount_ore": 9900, "booked_on": date(2020, 2, 1)},
        {"id": 3, "customer_id": 2, "billed_name": "Erik", "billed_address": "Lillgatan 2", "items": "laptop",
         "amount_ore": 999900, "booked_on": date(2021, 8, 15)},
        {"id": 4, "customer_id": 2, "billed_name": "Erik", "billed_address": "Lillgatan 2", "items": "mouse",
         "amount_ore": 19900, "booked_on": date(2018, 11, 2)},
    ]  # fmt: skip
    analytics = [
        {"id": k, "customer_id": 1, "category": ("network", "laptops")[k % 2], "amount_ore": 1000 * k,
         "bought_on": date(2024, 1, 1) + timedelta(days=40 * k)}
        for k in range(1, 21)
    ]  # fmt: skip
    _fill(url, nestit_tables, {"customers": customers, "vouchers": vouchers, "purchase_analytics": analytics})


def test_nestit_keeps_accounting_records_until_the_end_of_the_seventh_year_after_the_financial_year(
    server_url: str, retention: RetentionFactory, nestit: Declaration
) -> None:
    _nestit(server_url)
    environ = {"NESTIT_DB_URL": server_url}

    # 31 December 2026: the 2019 financial year's records are still kept (through the end of 2026)
    retention(with_datastore(nestit, "nestit"), "nestit-group-ab", environ, today=date(2026, 12, 31)).run()
    vouchers = {r["id"]: r for r in rows(server_url, "SELECT * FROM vouchers")}
    assert set(vouchers) == {1, 2, 3}  # 2018's went at the end of 2025
    # Erik's relationship ended more than three years ago: his data goes, his 2021 voucher keeps its amounts
    assert {r["id"] for r in rows(server_url, "SELECT id FROM customers")} == {1}
    assert (vouchers[3]["items"], vouchers[3]["amount_ore"], vouchers[3]["booked_on"]) == (
        "laptop",
        999900,
        date(2021, 8, 15),
    )
    assert (vouchers[3]["customer_id"], vouchers[3]["billed_name"], vouchers[3]["billed_address"]) == (
        None,
        "[erased]",
        None,
    )

    # 1 January 2027: now they go; 2020's stay
    outcome = retention(with_datastore(nestit, "nestit"), "nestit-group-ab", environ, today=date(2027, 1, 1)).run()
    assert {r["id"] for r in rows(server_url, "SELECT id FROM vouchers")} == {2, 3}
    assert outcome.per_rule()["accounting-records-se"] == 1


def test_nestit_anonymises_analysis_data_after_24_months_and_the_totals_stay(
    server_url: str, retention: RetentionFactory, nestit: Declaration
) -> None:
    _nestit(server_url)
    query = "SELECT id, customer_id, category, amount_ore, bought_on FROM purchase_analytics"
    before = {r["id"]: r for r in rows(server_url, query)}

    retention(with_datastore(nestit, "nestit"), "nestit-group-ab", {"NESTIT_DB_URL": server_url}, today=TODAY).run()

    after = {r["id"]: r for r in rows(server_url, query)}
    limit = TODAY.replace(year=TODAY.year - 2)
    assert any(r["bought_on"] <= limit for r in before.values()) and any(
        r["bought_on"] > limit for r in before.values()
    )
    for key, row in after.items():
        expected = {**before[key], "customer_id": None} if before[key]["bought_on"] <= limit else before[key]
        assert row == expected
    assert sum(r["amount_ore"] for r in after.values()) == sum(r["amount_ore"] for r in before.values())
