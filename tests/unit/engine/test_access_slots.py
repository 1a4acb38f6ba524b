"""An access statement's branches share typed slots: it is as wide as the most columns of each type in any one
table, not as wide as all the tables together."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, MetaData, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

from dataright.connectors.sql.rowslots import Layout

meta = MetaData()
customers = Table(
    "customers",
    meta,
    Column("id", BigInteger, primary_key=True),
    Column("email", String(200)),
    Column("name", Text),
    Column("born", Date),
)
orders = Table(
    "orders",
    meta,
    Column("id", BigInteger, primary_key=True),
    Column("customer_id", BigInteger),
    Column("note", String(40, collation="C")),
)
TABLES = [list(customers.columns), list(orders.columns)]


def test_on_postgresql_a_slot_per_type_and_varchar_and_text_share_text_slots() -> None:
    layout = Layout(postgresql.dialect(), TABLES)

    # BIGINT: 2 (orders), TEXT: 2 (customers' email and name), DATE: 1
    assert layout.width == 5
    assert layout.positions[0][0] == layout.positions[1][0]  # both ids in the first BIGINT slot
    assert layout.positions[1][2] == layout.positions[0][1]  # orders.note in the slot of customers.email


def test_on_postgresql_a_branch_fills_the_slots_it_does_not_use_with_nulls_of_their_type() -> None:
    layout = Layout(postgresql.dialect(), TABLES)

    sql = str(select(*layout.branch_columns(1)).compile(dialect=postgresql.dialect()))

    assert "CAST(orders.note AS TEXT)" in sql  # its collation left behind: values, not their order, travel
    assert "CAST(NULL AS TEXT)" in sql and "CAST(NULL AS DATE)" in sql


def test_on_sqlite_any_column_takes_any_slot() -> None:
    layout = Layout(sqlite.dialect(), TABLES)

    assert layout.width == 4  # the widest table
    assert layout.positions == [[0, 1, 2, 3], [0, 1, 2]]
