"""The access package's readable page is translated: every msgid of its template and labels has nb and sv."""

from __future__ import annotations

import pytest

from dataright.requests.package import CATALOG, LABELS, environment_for


@pytest.mark.parametrize("lang", ["nb", "sv"])
def test_the_package_catalog_translates_every_message(lang: str) -> None:
    assert CATALOG.missing(lang) == []


def test_the_labels_are_required_msgids_and_translate() -> None:
    assert set(LABELS.values()) <= CATALOG.required_msgids()
    label = environment_for("sv").filters["label"]
    assert label("breach_notice") == "meddelande till dig om en personuppgiftsincident"
    assert label("something-new") == "something-new"  # an unknown code is shown as it is
