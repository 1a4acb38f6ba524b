"""The record of processing: structured JSON, values in the chosen language, and the frame of the
controller's own law (a PDPA controller's record cites the PDPA, never GDPR Art. 30)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.ropa import build_document, build_record, headings, record_frame, to_csv, to_json
from dataright.declarations.schema import Declaration
from dataright.errors import ValidationFailed


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}/{index}")
    elif isinstance(value, str):
        yield path, value


def test_the_json_record_is_lists_and_objects_not_joined_strings(nexalearn: Declaration) -> None:
    document = json.loads(to_json(build_document(nexalearn, "en")))
    (controller,) = document["controllers"]
    assert controller["id"] == "nexalearn"
    assert controller["controller"]["country"] == {"code": "NO", "name": "Norway"}
    payment = next(a for a in controller["activities"] if a["purpose_id"] == "payment")
    assert [s["id"] for s in payment["data_subjects"]] == ["adult-student", "guardian"]
    assert {"key": "user.contact.email", "name": payment["personal_data"][1]["name"], "special": False} in payment[
        "personal_data"
    ]
    stripe = next(r for r in payment["recipients"] if r["id"] == "stripe")
    assert stripe["role"]["key"] == "processor"
    assert [c["code"] for c in stripe["countries"]] == ["IE", "US"]
    assert payment["legal_basis"]["key"] == "contract"
    assert payment["legal_basis"]["citation"] == "GDPR Art. 6(1)(b)"
    assert [t["country"]["code"] for t in payment["transfers"]] == ["US"]
    assert payment["retention"][0]["period"] == "P6M"
    assert payment["legal_holds"][0]["reference"] == "bokføringsloven § 13"
    assert payment["joint_controllers"] == []
    # nothing is a list joined into a string
    for path, text in _strings(document):
        assert " | " not in text, path


def test_the_json_record_gives_values_in_the_chosen_language(nexalearn: Declaration) -> None:
    english = re.compile(r"\b(the|and|of|with|none|not declared|counted from|then|our|Legal hold)\b")
    document = build_document(nexalearn, "nb")
    (controller,) = document["controllers"]
    assert controller["law"]["record"] == "Protokoll over behandlingsaktiviteter"
    assert controller["law"]["reference"] == "personvernforordningen artikkel 30 nr. 1"
    assert controller["law"]["fields"]["purpose"] == {
        "label": "Formålet med behandlingen",
        "reference": "art. 30 nr. 1 bokstav b",
    }
    payment = next(a for a in controller["activities"] if a["purpose_id"] == "payment")
    assert payment["retention"][0]["duration"] == "6 måneder"
    assert payment["legal_basis"]["label"] == "Oppfyllelse av en avtale"
    assert payment["legal_basis"]["citation"] == "personvernforordningen artikkel 6 nr. 1 bokstav b"
    leaks = [(path, text) for path, text in _strings(document) if english.search(text)]
    assert leaks == []


def test_table_headings_cite_the_record_article_in_the_languages_legal_style(nexalearn: Declaration) -> None:
    frame = record_frame(nexalearn)
    assert "Formålet med behandlingen [art. 30 nr. 1 bokstav b]" in headings("nb", frame)
    assert "Purpose of the processing [Art. 30(1)(b)]" in headings("en", frame)
    assert not any("Art. 30(1)" in heading for heading in headings("nb", frame))
    swedish = headings("sv", record_frame(nexalearn))
    assert any(heading.endswith("[art. 30.1 b]") for heading in swedish)


def test_a_pdpa_controllers_record_cites_the_pdpa_and_never_gdpr_article_30(nestpros: Declaration) -> None:
    frame = record_frame(nestpros)
    assert frame == get_jurisdiction("pdpa-sg").record
    table = to_csv(build_record(nestpros, "en"), "en", frame)
    document = to_json(build_document(nestpros, "en"))
    for text in (table, document):
        assert "Art. 30" not in text
        assert "GDPR" not in text
        assert "third countr" not in text
    first_row = table.splitlines()[0]
    assert "Transfers outside Singapore and the protection required [s. 26]" in first_row
    assert "Representative" not in first_row and "Joint controllers" not in first_row
    (controller,) = json.loads(document)["controllers"]
    assert controller["law"]["jurisdiction"] == "pdpa-sg"
    assert controller["law"]["reference"].startswith("PDPA s. 11-12")
    assert "representative" not in controller
    assert all("joint_controllers" not in a for a in controller["activities"])
    rows = build_record(nestpros, "en")
    assert set(rows[0]) == {c for c in json.loads(document)["controllers"][0]["law"]["fields"]} | {
        "controller_id",
        "purpose_id",
    }


def test_one_table_cannot_mix_two_laws_records(nestit: Declaration, nestpros: Declaration) -> None:
    singapore = nestit.controllers[1].model_copy(update={"jurisdiction": "pdpa-sg"})
    mixed = nestit.model_copy(update={"controllers": (nestit.controllers[0], singapore)})
    with pytest.raises(ValidationFailed, match="different laws"):
        record_frame(mixed)
    assert record_frame(mixed, nestit.controllers[0].id) == get_jurisdiction("gdpr").record
