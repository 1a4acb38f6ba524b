"""The lifecycle as data: which steps are allowed, and how a refused step is named."""

from __future__ import annotations

import pytest

from dataright.declarations.schema import Right
from dataright.errors import IllegalTransition
from dataright.requests.lifecycle import OPEN, TRANSITIONS, RequestType, Status, check_transition


def test_every_request_type_is_a_right_of_the_declaration_schema() -> None:
    assert {t.right for t in RequestType} <= set(Right)


def test_closed_states_allow_nothing_and_open_ones_can_always_be_denied_or_withdrawn() -> None:
    for status, allowed in TRANSITIONS.items():
        if status in OPEN:
            assert {Status.denied, Status.withdrawn} <= set(allowed)
        else:
            assert allowed == ()


def test_only_an_unverified_request_expires_and_only_a_verified_one_completes() -> None:
    assert [s for s, allowed in TRANSITIONS.items() if Status.expired in allowed] == [Status.received]
    assert Status.completed not in TRANSITIONS[Status.received]


def test_an_illegal_step_names_where_the_request_stands_and_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition("R-TEST", Status.received, Status.completed)
    assert caught.value.problem_extensions() == {
        "current": "received",
        "allowed": ["verified", "denied", "withdrawn", "expired"],
    }
    assert "R-TEST is received; it cannot become completed" in str(caught.value)
    with pytest.raises(IllegalTransition, match="none: the request is closed"):
        check_transition("R-TEST", Status.completed, Status.in_progress)
