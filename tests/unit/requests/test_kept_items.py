"""What an erasure keeps, and until when: the last day of the legal hold, reckoned as the datastore engine does."""

from __future__ import annotations

from datetime import date

from dataright.declarations.schema import Declaration
from dataright.requests.fulfilment import kept_items
from dataright.requests.models import RequestParty, RightsRequest


def erasure_at(*controller_ids: str) -> RightsRequest:
    request = RightsRequest(language="en")
    request.parties = [RequestParty(controller_id=c) for c in controller_ids]
    return request


def with_fiscal_year_end(declaration: Declaration, controller_id: str, month_day: str) -> Declaration:
    controllers = tuple(
        c.model_copy(update={"fiscal_year_end": month_day}) if c.id == controller_id else c
        for c in declaration.controllers
    )
    return declaration.model_copy(update={"controllers": controllers})


def test_bookkeeping_is_kept_to_the_end_of_the_seventh_year_after_the_calendar_financial_year(
    nestit: Declaration,
) -> None:
    items = kept_items(nestit, erasure_at("nestit-group-ab"), date(2026, 12, 7))

    assert [i["until"] for i in items if "bokföringslag" in i["law"].lower()] == ["2033-12-31"]


def test_a_financial_year_that_ends_in_june_ends_the_hold_in_june(nestit: Declaration) -> None:
    declaration = with_fiscal_year_end(nestit, "nestit-group-ab", "06-30")

    items = kept_items(declaration, erasure_at("nestit-group-ab"), date(2026, 12, 7))

    # what is kept now belongs to the financial year that ends on 2027-06-30; seven years after it
    assert [i["until"] for i in items if "bokföringslag" in i["law"].lower()] == ["2034-06-30"]
