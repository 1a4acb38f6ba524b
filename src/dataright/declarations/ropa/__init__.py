"""The record of processing activities under the frame of each controller's law, built from the declaration."""

from dataright.declarations.ropa.export import FORMATS, Format, to_csv, to_json, to_xlsx
from dataright.declarations.ropa.record import (
    COLUMNS,
    Column,
    build_document,
    build_record,
    columns_for,
    headings,
    record_frame,
)

__all__ = [
    "COLUMNS",
    "FORMATS",
    "Column",
    "Format",
    "build_document",
    "build_record",
    "columns_for",
    "headings",
    "record_frame",
    "to_csv",
    "to_json",
    "to_xlsx",
]
