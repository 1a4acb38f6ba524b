"""Rectification and restriction on real databases: only the person's rows, values checked first."""

from __future__ import annotations

import pytest

from dataright.engine.service import Request
from dataright.errors import ValidationFailed
from fixtures.elearning import PEOPLE

from .conftest import EngineFactory, snapshot


def test_a_corrected_phone_number_lands_on_her_row_only_and_a_bad_one_is_refused(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    engine = dsr_engine(fresh_elearning_url)
    before = snapshot(fresh_elearning_url)
    with pytest.raises(ValidationFailed, match="not a phone number"):
        engine.rectify(
            Request("rectify", "nexalearn", {"email": PEOPLE.astrid_email}, changes={"customers.phone": "x"})
        )

    outcome = engine.rectify(
        Request("rectify", "nexalearn", {"email": PEOPLE.astrid_email}, changes={"customers.phone": "+4791234567"})
    )

    after = snapshot(fresh_elearning_url)
    assert [s.rows for s in outcome.steps] == [1]
    assert after["customers"][PEOPLE.astrid]["phone"] == "+4791234567"
    assert {k: v for k, v in after["customers"].items() if k != PEOPLE.astrid} == {
        k: v for k, v in before["customers"].items() if k != PEOPLE.astrid
    }


def test_restriction_is_set_by_flag_and_side_table_and_lifted_again(
    fresh_elearning_url: str, dsr_engine: EngineFactory
) -> None:
    engine = dsr_engine(fresh_elearning_url)
    before = snapshot(fresh_elearning_url)

    engine.restrict(Request("restrict", "nexalearn", {"email": PEOPLE.bjorn_email}))

    during = snapshot(fresh_elearning_url)
    assert during["customers"][PEOPLE.bjorn]["processing_restricted"] is True
    assert sum(1 for c in during["customers"].values() if c["processing_restricted"]) == 1
    mine = {k for k, m in before["support_messages"].items() if m["author_id"] == PEOPLE.bjorn}
    assert set(during["restricted_messages"]) == mine

    engine.restrict(Request("restrict", "nexalearn", {"email": PEOPLE.bjorn_email}, lift=True))

    assert snapshot(fresh_elearning_url) == before
