"""The PostgreSQL test fixture names why it cannot connect instead of hiding it behind a skip."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from fixtures.db import PG_HOST, PG_PORT, postgres_admin, refusal_of


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((PG_HOST, port)) == 0


@pytest.mark.postgres
def test_a_server_that_refuses_the_user_is_named_as_answering() -> None:
    if not _listening(PG_PORT):
        pytest.skip("no PostgreSQL here to refuse anyone")
    engine, refusals = postgres_admin(users=("dataright_no_such_role",))
    assert engine is None
    [refusal] = refusals
    assert refusal.answered
    assert 'role "dataright_no_such_role" does not exist' in str(refusal)
    assert str(refusal).startswith("as dataright_no_such_role: ")


def test_no_server_listening_is_not_taken_for_a_refusal() -> None:
    with socket.socket() as spare:  # a port nothing listens on: bound, never listened
        spare.bind((PG_HOST, 0))
        port = spare.getsockname()[1]
        engine, refusals = postgres_admin(port=port, users=("postgres", "root"))
    assert engine is None
    assert [r.user for r in refusals] == ["postgres", "root"]
    assert not any(r.answered for r in refusals)
    assert all("refused" in r.message.lower() for r in refusals), refusals


def test_mariadb_refusing_a_user_is_named_as_answering() -> None:
    if not _listening(3306):
        pytest.skip("no MariaDB here to refuse anyone")
    engine = create_engine(
        "mariadb+pymysql://dataright_no_such_user@127.0.0.1:3306/", connect_args={"connect_timeout": 3}
    )
    try:
        with pytest.raises(OperationalError) as raised, engine.connect():
            pass
    finally:
        engine.dispose()
    refusal = refusal_of("dataright_no_such_user", raised.value)
    assert refusal.answered and "Access denied for user 'dataright_no_such_user'" in refusal.message
