"""The GDPR Art. 30(1) record of processing activities, built from the declaration."""

from dataright.declarations.ropa.export import FORMATS, Format, headings, to_csv, to_json, to_xlsx
from dataright.declarations.ropa.record import COLUMNS, Column, build_record

__all__ = ["COLUMNS", "FORMATS", "Column", "Format", "build_record", "headings", "to_csv", "to_json", "to_xlsx"]
