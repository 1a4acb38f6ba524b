"""The record written as CSV, JSON and an Excel workbook, read back."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook

from dataright.declarations.ropa import COLUMNS, build_document, build_record, headings, to_csv, to_json, to_xlsx
from dataright.declarations.schema import Declaration


def test_csv_has_a_heading_row_and_one_line_per_row(nestit: Declaration) -> None:
    rows = build_record(nestit)
    table = list(csv.reader(io.StringIO(to_csv(rows))))
    assert table[0] == headings()
    assert table[1:] == [[row[c.key] for c in COLUMNS] for row in rows]


def test_json_is_the_structured_document_one_activity_per_purpose(nexalearn: Declaration) -> None:
    data = json.loads(to_json(build_document(nexalearn)))
    assert data == build_document(nexalearn)
    (controller,) = data["controllers"]
    assert [a["purpose_id"] for a in controller["activities"]] == [r["purpose_id"] for r in build_record(nexalearn)]


def test_xlsx_reads_back_with_frozen_headings_and_fitted_widths(nexalearn: Declaration) -> None:
    rows = build_record(nexalearn, "sv")
    book = load_workbook(io.BytesIO(to_xlsx(rows, "sv")))
    sheet = book.active
    assert sheet.title == "Register över behandling"  # the GDPR's name for it (Art. 30, Swedish text)
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == headings("sv")
    assert values[1:] == [[row[c.key] for c in COLUMNS] for row in rows]
    assert sheet.freeze_panes == "C2"
    assert sheet["A1"].font.bold
    widths = [sheet.column_dimensions[chr(ord("A") + i)].width for i in range(len(COLUMNS))]
    assert all(12 <= w <= 60 for w in widths)
    assert max(widths) == 60  # the long purpose and security texts are capped and wrapped
