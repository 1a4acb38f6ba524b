"""Back-off arithmetic and the rule that job arguments hold ids and counts only (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.errors import ValidationFailed
from dataright.jobs.service import _check_args, backoff_delay


@given(
    attempt=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.001, max_value=3600),
    ceiling=st.floats(min_value=0.001, max_value=86400),
)
def test_the_back_off_doubles_with_each_attempt_and_never_passes_its_ceiling(
    attempt: int, base: float, ceiling: float
) -> None:
    delay = backoff_delay(attempt, base=base, ceiling=ceiling)
    assert 0 < delay <= ceiling
    following = backoff_delay(attempt + 1, base=base, ceiling=ceiling)
    assert following == ceiling or following == pytest.approx(2 * delay)


def test_the_first_retry_waits_the_base_delay() -> None:
    assert backoff_delay(1, base=30, ceiling=3600) == 30
    assert backoff_delay(4, base=30, ceiling=3600) == 240
    assert backoff_delay(20, base=30, ceiling=3600) == 3600


def test_ids_counts_and_flags_are_accepted_as_job_arguments() -> None:
    _check_args({"request_id": "0f" * 16, "limit": 10, "dry_run": False, "ids": ["a", "b"], "ratio": 0.5}, "k")


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ({"person": {"email": "a@example.com"}}, "args.person"),
        ({"note": "x" * 201}, "args.note"),
        ({"rows": [{"id": 1}]}, "args.rows[0]"),
        ({"bad key": 1}, "args key"),
    ],
)
def test_arguments_that_could_carry_records_are_refused_naming_where(args: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationFailed, match=where.replace("[", r"\[").replace("]", r"\]")):
        _check_args(args, "k")
