"""Every value of an access request comes back as a plain SELECT of its table returns it, though every table
is read in one statement: numbers, dates, timestamps, booleans, bytes, JSON and NULLs alike, on PostgreSQL,
MariaDB and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    select,
    text,
)

from dataright.config import derive_keys
from dataright.connectors.sql import rowslots
from dataright.declarations.datasets import Dataset
from dataright.declarations.schema import Declaration
from dataright.engine.service import Engine, Request
from dataright.storage.engine import make_engine, make_session_factory
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET
from fixtures.elearning import ServerDatabases, fresh_database

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", Text),
    Column("initials", CHAR(3)),
    Column("balance", Numeric(10, 2)),
    Column("rating", Float),
    Column("born", Date),
    Column("joined", DateTime),
    Column("active", Boolean),
    Column("photo", LargeBinary),
    Column("prefs", JSON),
)
visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("page", String(50)),
    Column("score", Numeric(6, 3)),
    Column("flagged", Boolean),
)
people_1 = Table(  # SQLAlchemy's own name for the first alias of "people": the access statement must not use it
    "people_1",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("note", String(50)),
)
PEOPLE = [
    {
        "id": 1,
        "email": "ada@example.org",
        "name": "Ada Lovelace",
        "initials": "AL",
        "balance": Decimal("1234.50"),
        "rating": 4.25,
        "born": date(1815, 12, 10),
        "joined": datetime(2024, 2, 29, 13, 45, 7),
        "active": True,
        "photo": b"\x00\xffpng",
        "prefs": {"lang": "en", "newsletter": False, "tags": ["maths", 1]},
    },
    {"id": 2, "email": "bob@example.org", "name": None, "initials": None, "balance": None, "rating": None,
     "born": None, "joined": None, "active": None, "photo": None, "prefs": None},
]  # fmt: skip
VISITS = [
    {"id": 10, "person_id": 1, "at": datetime(2025, 1, 2, 3, 4, 5), "page": "/a", "score": Decimal("1.125"),
     "flagged": False},
    {"id": 11, "person_id": 1, "at": datetime(2025, 1, 3, 0, 0), "page": None, "score": None, "flagged": None},
    {"id": 12, "person_id": 2, "at": datetime(2025, 1, 4, 0, 0), "page": "/b", "score": Decimal("0"),
     "flagged": True},
]  # fmt: skip
PEOPLE_1 = [{"id": 100, "person_id": 1, "note": "first"}, {"id": 101, "person_id": 2, "note": "second"}]
KEYS = {"id", "email", "person_id"}  # declared on their own below
DATASET = {
    "id": "typed",
    "url": "${TYPED_DB_URL}",
    "tables": [
        {
            "name": "people",
            "primary_key": ["id"],
            "fields": [
                {"name": "email", "data_categories": ["user.contact.email"], "identity": "email"},
                *({"name": c.name, "data_categories": ["user.name"]} for c in people.columns if c.name not in KEYS),
            ],
        },
        {
            "name": "visits",
            "primary_key": ["id"],
            "fields": [
                {"name": "person_id", "references": [{"field": "people.id"}]},
                *({"name": c.name} for c in visits.columns if c.name not in KEYS),
            ],
        },
        {
            "name": "people_1",
            "primary_key": ["id"],
            "fields": [{"name": "person_id", "references": [{"field": "people.id"}]}, {"name": "note"}],
        },
    ],
}  # fmt: skip


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def typed_url(
    request: pytest.FixtureRequest, server_databases: dict[str, ServerDatabases], tmp_path: Path
) -> Iterator[str]:
    backend = str(request.param)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'typed.sqlite3'}"
    else:
        url = fresh_database(server_databases, backend)
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(people.insert(), PEOPLE)
        conn.execute(visits.insert(), VISITS)
        conn.execute(people_1.insert(), PEOPLE_1)
    engine.dispose()
    yield url


@pytest.fixture
def typed_engine(nexalearn: Declaration, tmp_path: Path, typed_url: str) -> Iterator[Engine]:
    declaration = nexalearn.model_copy(update={"datasets": (Dataset.model_validate(DATASET),)})
    db = make_engine(f"sqlite:///{tmp_path / 'dataright.sqlite3'}")
    upgrade(db)
    engine = Engine(
        declaration,
        session_factory=make_session_factory(db),
        keys=derive_keys(TEST_SECRET),
        environ={"TYPED_DB_URL": typed_url},
        retries=0,
        keep_open=True,
    )
    yield engine
    engine.close()
    db.dispose()


def by_access(engine: Engine, email: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for section in engine.access(Request("access", "nexalearn", {"email": email})):
        out.setdefault(section.table, []).extend(section.rows)
    return {table: sorted(rows, key=lambda r: r["id"]) for table, rows in out.items()}


def by_plain_select(url: str, person: int) -> dict[str, list[dict[str, Any]]]:
    """The same rows read table by table through SQLAlchemy, from the tables as the database describes them."""
    engine = create_engine(url)
    try:
        live = MetaData()
        live.reflect(engine, only=["people", "visits", "people_1"])
        p, v, p1 = live.tables["people"], live.tables["visits"], live.tables["people_1"]
        with engine.connect() as conn:
            return {
                "people": [dict(r) for r in conn.execute(select(p).where(p.c.id == person)).mappings()],
                "visits": [
                    dict(r) for r in conn.execute(select(v).where(v.c.person_id == person).order_by(v.c.id)).mappings()
                ],
                "people_1": [dict(r) for r in conn.execute(select(p1).where(p1.c.person_id == person)).mappings()],
            }
    finally:
        engine.dispose()


def test_every_value_comes_back_as_a_plain_select_of_its_table_returns_it(typed_engine: Engine, typed_url: str) -> None:
    for person, email in ((1, "ada@example.org"), (2, "bob@example.org")):
        assert by_access(typed_engine, email) == by_plain_select(typed_url, person)


def test_a_table_named_as_sqlalchemy_would_name_an_alias_of_another_is_read_all_the_same(
    typed_engine: Engine,
) -> None:
    assert by_access(typed_engine, "ada@example.org")["people_1"] == [{"id": 100, "person_id": 1, "note": "first"}]


def test_values_keep_their_python_types(typed_engine: Engine) -> None:
    ada = by_access(typed_engine, "ada@example.org")

    person, visit = ada["people"][0], ada["visits"][0]
    assert person["balance"] == Decimal("1234.50") and isinstance(person["balance"], Decimal)
    assert person["born"] == date(1815, 12, 10) and person["joined"] == datetime(2024, 2, 29, 13, 45, 7)
    assert person["active"] in (True, 1) and bytes(person["photo"]) == b"\x00\xffpng"
    assert visit["score"] == Decimal("1.125") and visit["at"] == datetime(2025, 1, 2, 3, 4, 5)
    bob = by_access(typed_engine, "bob@example.org")["people"][0]
    del bob["prefs"]  # JSON's null: text "null" to MariaDB's LONGTEXT, as a plain SELECT reads it too
    assert set(bob.values()) == {2, "bob@example.org", None}


@pytest.mark.parametrize("typed_url", ["postgresql"], indirect=True)  # where many types make many slots
def test_tables_too_many_for_one_row_of_typed_slots_come_back_the_same_packed_as_json(
    typed_engine: Engine, typed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_slots = by_access(typed_engine, "ada@example.org")
    typed_engine.close()  # its compiled statements go with it
    monkeypatch.setattr(rowslots, "MAX_SLOTS", 1)

    as_json = by_access(typed_engine, "ada@example.org")

    assert as_json == with_slots == by_plain_select(typed_url, 1)


@pytest.mark.parametrize("typed_url", ["postgresql"], indirect=True)
def test_a_kept_connection_the_server_closed_is_replaced_without_a_failed_request(
    typed_engine: Engine, typed_url: str
) -> None:
    before = by_access(typed_engine, "ada@example.org")
    admin = create_engine(typed_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()

    assert killed >= 1
    assert by_access(typed_engine, "ada@example.org") == before
