"""The in-process checker: committed state through its own autocommit connections, the same answers as the service."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from consent_helpers import NEXALEARN, new_subject
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings, use_settings
from dataright.consent import service
from dataright.consent.check import ConsentChecker
from dataright.consent.rules import Decision, EventKind, Method, Reason, rules_for
from dataright.consent.targets import Holder, Target
from dataright.declarations.schema import Declaration
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET

ANALYTICS = Target.purpose("analytics")


@pytest.fixture
def factory(fresh_db_url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET))
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    yield engine, make_session_factory(engine)
    engine.dispose()
    use_settings(None)


def _record(factory: sessionmaker[Session], nexalearn: Declaration, subject_id: object, kind: EventKind) -> int:
    with session_scope(factory) as session:
        event = service.record(
            session,
            declaration=nexalearn,
            controller_id=NEXALEARN,
            target=ANALYTICS,
            kind=kind,
            method=Method.api,
            actor="test",
            subject_id=subject_id,  # type: ignore[arg-type]
        )
        return event.id


def test_the_checker_sees_each_commit_at_once(
    factory: tuple[Engine, sessionmaker[Session]], nexalearn: Declaration
) -> None:
    engine, sessions = factory
    with session_scope(sessions) as session:
        subject_id = new_subject(session, NEXALEARN).id
    checker = ConsentChecker(engine)
    rules = rules_for(nexalearn, NEXALEARN)
    holder = Holder.subject(subject_id)
    try:
        assert checker.check(rules, holder, ANALYTICS).reason is Reason.no_consent
        given = _record(sessions, nexalearn, subject_id, EventKind.given)
        assert checker.check(rules, holder, ANALYTICS) == Decision(
            True, rules.rule(ANALYTICS).basis, Reason.consent_given, given
        )
        withdrawn = _record(sessions, nexalearn, subject_id, EventKind.withdrawn)
        decision = checker.check(rules, holder, ANALYTICS)
        assert (decision.allowed, decision.event_id) == (False, withdrawn)
        with session_scope(sessions, write=False) as session:
            assert (
                service.check(
                    session, declaration=nexalearn, controller_id=NEXALEARN, target=ANALYTICS, subject_id=subject_id
                )
                == decision
            )
    finally:
        checker.close()


def test_the_checker_answers_from_several_threads(
    factory: tuple[Engine, sessionmaker[Session]], nexalearn: Declaration
) -> None:
    engine, sessions = factory
    with session_scope(sessions) as session:
        subject_id = new_subject(session, NEXALEARN).id
    _record(sessions, nexalearn, subject_id, EventKind.given)
    checker = ConsentChecker(engine)
    rules = rules_for(nexalearn, NEXALEARN)
    answers: list[bool] = []

    def work() -> None:
        for _ in range(50):
            answers.append(checker.check(rules, Holder.subject(subject_id), ANALYTICS).allowed)

    threads = [threading.Thread(target=work) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        checker.close()
    assert answers == [True] * 200


def test_a_broken_connection_is_replaced_and_the_check_still_answers(
    factory: tuple[Engine, sessionmaker[Session]], nexalearn: Declaration
) -> None:
    engine, sessions = factory
    with session_scope(sessions) as session:
        subject_id = new_subject(session, NEXALEARN).id
    event_id = _record(sessions, nexalearn, subject_id, EventKind.given)
    checker = ConsentChecker(engine)
    rules = rules_for(nexalearn, NEXALEARN)
    holder = Holder.subject(subject_id)
    try:
        assert checker.check(rules, holder, ANALYTICS).event_id == event_id
        checker._local.raw.close()  # what a database restart does to a held connection
        assert checker.check(rules, holder, ANALYTICS).event_id == event_id
        assert checker.check(rules, holder, ANALYTICS).event_id == event_id
    finally:
        checker.close()
