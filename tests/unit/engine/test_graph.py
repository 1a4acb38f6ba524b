"""The traversal graph of NexaLearn's datasets: order, unreachable tables and cycles named."""

from __future__ import annotations

import pytest

from dataright.declarations.datasets import Dataset
from dataright.declarations.schema import Declaration
from dataright.engine.graph import GraphInvalid, build_graph


def _dataset(nexalearn: Declaration) -> Dataset:
    return nexalearn.dataset_by_id["nexalearn-platform"]


def test_nexalearns_tables_are_read_parents_first(nexalearn: Declaration) -> None:
    graph = build_graph(nexalearn.datasets)
    order = [r.table for r in graph.order]

    assert order.index("customers") < order.index("children") < order.index("enrollments") < order.index("lessons")
    assert order.index("payments") < order.index("invoices")
    assert set(order) == {t.name for t in _dataset(nexalearn).tables}


def test_a_table_no_identity_leads_to_is_named(nexalearn: Declaration) -> None:
    data = _dataset(nexalearn).model_dump(mode="json")
    for table in data["tables"]:
        if table["name"] == "web_events":
            table["fields"][0]["references"] = []
    with pytest.raises(GraphInvalid) as caught:
        build_graph([Dataset.model_validate(data)])
    assert "table nexalearn-platform.web_events is not reachable from an identity field" in str(caught.value)


def test_a_cycle_is_named_table_by_table(nexalearn: Declaration) -> None:
    data = _dataset(nexalearn).model_dump(mode="json")
    for table in data["tables"]:
        if table["name"] == "customers":  # customers now also hang off lessons: lessons -> customers -> ...
            table["fields"].append({"name": "last_lesson", "references": [{"field": "lessons.id"}]})
        if table["name"] == "lessons":
            table["fields"].append({"name": "id"})
    with pytest.raises(GraphInvalid) as caught:
        build_graph([Dataset.model_validate(data)])
    message = str(caught.value)
    assert "cycle" in message
    assert "nexalearn-platform.customers" in message and "nexalearn-platform.lessons" in message


def test_a_request_with_only_a_phone_number_reaches_what_the_phone_leads_to(nexalearn: Declaration) -> None:
    graph = build_graph(nexalearn.datasets, {"phone_number"}, require_all=False)
    assert "customers" in {r.table for r in graph.order}
    assert graph.nodes[next(r for r in graph.order if r.table == "children")].identity_fields == ()
