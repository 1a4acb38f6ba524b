"""Engine settings and portable types, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from dataright.errors import Unavailable
from dataright.storage.engine import (
    make_engine,
    make_session_factory,
    normalise_url,
    run_in_transaction,
    session_scope,
)
from dataright.storage.types import JSONType, UTCDateTime

scratch = MetaData()
moments = Table(
    "test_moments",
    scratch,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("doc", JSONType),
)


@pytest.fixture
def moments_table(session: Session) -> Table:
    scratch.create_all(session.connection())  # rolled back with the test's transaction
    return moments


def test_plain_postgresql_urls_are_routed_to_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_unsupported_databases_are_refused_with_the_url_shape_expected() -> None:
    with pytest.raises(ValueError, match=r"use sqlite:///path or postgresql://"):
        make_engine("mysql://u:secret@h/db")


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_sqlite_writers_that_read_first_wait_for_each_other_instead_of_failing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        s.execute(text("CREATE TABLE counter (n INTEGER)"))
        s.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with session_scope(factory) as s:
                    n = s.execute(text("SELECT n FROM counter")).scalar_one()
                    s.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(factory, write=False) as s:
        assert s.execute(text("SELECT n FROM counter")).scalar_one() == 100  # no lost update
    engine.dispose()


def test_session_scope_rolls_back_when_the_block_raises(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
    with pytest.raises(RuntimeError), session_scope(factory) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with session_scope(factory, write=False) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    engine.dispose()


def test_datetimes_come_back_aware_and_in_utc(session: Session, moments_table: Table) -> None:
    oslo = timezone(timedelta(hours=2))
    written = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=oslo)
    session.execute(insert(moments_table).values(id=1, at=written, doc={"a": [1, 2]}))
    at, doc = session.execute(select(moments_table.c.at, moments_table.c.doc)).one()
    assert at == written
    assert at.tzinfo is not None and at.utcoffset() == timedelta(0)
    assert at == datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert doc == {"a": [1, 2]}


def test_naive_datetimes_are_refused(session: Session, moments_table: Table) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        session.execute(insert(moments_table).values(id=2, at=datetime(2025, 1, 1, 12, 0)))


def test_a_write_that_gets_no_connection_is_unavailable_not_an_error() -> None:
    with socket.socket() as spare:  # a port nothing listens on, as a server that takes no more connections
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
        engine = make_engine(f"postgresql://postgres@127.0.0.1:{port}/none")
        ran: list[bool] = []
        try:
            with pytest.raises(Unavailable, match="takes no more connections") as raised:
                run_in_transaction(make_session_factory(engine), lambda session: ran.append(True))
        finally:
            engine.dispose()
    assert raised.value.status == 503 and raised.value.retry_after >= 1
    assert ran == [], "the work never ran"
