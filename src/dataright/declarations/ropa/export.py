"""Write the record as CSV, JSON or an Excel workbook (all in memory; the caller decides where it goes)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dataright.declarations.notice.i18n import N_, gettext
from dataright.declarations.ropa.record import COLUMNS

Format = Literal["csv", "xlsx", "json"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "json")

_MAX_WIDTH = 60
_MIN_WIDTH = 12


def headings(lang: str = "en") -> list[str]:
    return [column.heading(lang) for column in COLUMNS]


def to_csv(rows: Sequence[dict[str, str]], lang: str = "en") -> str:
    """CSV with one heading row (labels in ``lang``), every field quoted where needed, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings(lang))
    for row in rows:
        writer.writerow([row[column.key] for column in COLUMNS])
    return out.getvalue()


def to_json(rows: Sequence[dict[str, str]]) -> str:
    """A JSON list of objects keyed by the stable column keys."""
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"


def to_xlsx(rows: Sequence[dict[str, str]], lang: str = "en") -> bytes:
    """An Excel workbook: a bold, frozen heading row, wrapped text and widths fitted to the content."""
    book = Workbook()
    sheet = book.active
    sheet.title = gettext(lang, N_("Record of processing"))[:31]
    sheet.append(headings(lang))
    for row in rows:
        sheet.append([row[column.key] for column in COLUMNS])
    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="DDEBF7")
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(COLUMNS, start=1):
        longest = max([len(column.heading(lang)), *(len(row[column.key]) for row in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = max(_MIN_WIDTH, min(_MAX_WIDTH, longest + 2))
    sheet.freeze_panes = "C2"  # the heading row and the two id columns stay in view
    sheet.auto_filter.ref = sheet.dimensions
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
