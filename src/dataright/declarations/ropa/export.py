"""Write the record as CSV, JSON or an Excel workbook (all in memory; the caller decides where it goes).

CSV and Excel are tables of ``build_record``'s rows under one frame's headings; JSON is ``build_document``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dataright.declarations.jurisdictions import RecordFrame
from dataright.declarations.notice.words import localized
from dataright.declarations.ropa.record import columns_for, default_frame, headings

Format = Literal["csv", "xlsx", "json"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "json")

_MAX_WIDTH = 60
_MIN_WIDTH = 12


def to_csv(rows: Sequence[dict[str, str]], lang: str = "en", frame: RecordFrame | None = None) -> str:
    """CSV with one heading row (labels in ``lang``, citing ``frame``), fields quoted where needed, CRLF ends."""
    frame = frame or default_frame()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings(lang, frame))
    for row in rows:
        writer.writerow([row[column.key] for column in columns_for(frame)])
    return out.getvalue()


def to_json(document: dict[str, Any]) -> str:
    """The structured record (``build_document``) as JSON."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def to_xlsx(rows: Sequence[dict[str, str]], lang: str = "en", frame: RecordFrame | None = None) -> bytes:
    """An Excel workbook named after the frame's record: a bold, frozen heading row, wrapped text and widths
    fitted to the content."""
    frame = frame or default_frame()
    columns = columns_for(frame)
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(localized(frame.title, lang))
    sheet.append(headings(lang, frame))
    for row in rows:
        sheet.append([row[column.key] for column in columns])
    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="DDEBF7")
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(columns, start=1):
        longest = max([len(column.heading(lang, frame)), *(len(row[column.key]) for row in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = max(_MIN_WIDTH, min(_MAX_WIDTH, longest + 2))
    sheet.freeze_panes = "C2"  # the heading row and the two id columns stay in view
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Record"
