"""Every table of an access request in one statement: ``UNION ALL`` of one branch per table, each row packed
as a JSON object by the database (``json_build_object`` / ``JSON_OBJECT`` / ``json_object``).

Tables have different columns, so a plain ``UNION`` cannot carry them; a JSON object per row can. One
statement means one round trip and one server-side cursor for the whole datastore instead of one per table,
which is what a hand-written query for the same person costs. Values come back typed: each column's JSON
value is turned into the column's Python type (dates, timestamps, decimals, booleans; bytes travel as hex).

This is the way on MariaDB/MySQL, and wherever a statement of typed slots (``rowslots``, the way on
PostgreSQL and SQLite) would be too wide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Column, ColumnElement, Text, cast, func, literal_column

Decoder = Callable[[Any], Any]
MAX_PAIRS = 40  # PostgreSQL functions take at most 100 arguments: objects are built in parts and merged


def json_object(dialect: str, columns: list[Column[Any]]) -> ColumnElement[Any]:
    """The row as one JSON text value, keyed by column name."""
    parts: list[ColumnElement[Any]] = []
    for start in range(0, len(columns), MAX_PAIRS):
        args: list[Any] = []
        for column in columns[start : start + MAX_PAIRS]:
            # names are declared identifiers ([A-Za-z_][A-Za-z0-9_$]*): inlined, so no parameter needs a type
            args.extend((literal_column(f"'{column.name}'"), _as_json_value(dialect, column)))
        if dialect == "postgresql":  # json, not jsonb: built as text, no binary form to make and print again
            parts.append(func.json_build_object(*args) if len(columns) <= MAX_PAIRS else func.jsonb_build_object(*args))
        elif dialect in ("mysql", "mariadb"):
            parts.append(func.JSON_OBJECT(*args))
        else:
            parts.append(func.json_object(*args))
    merged = parts[0]
    for part in parts[1:]:
        if dialect == "postgresql":
            merged = merged.op("||")(part)
        elif dialect in ("mysql", "mariadb"):
            merged = func.JSON_MERGE_PATCH(merged, part)
        else:
            merged = func.json_patch(merged, part)
    return cast(merged, Text) if dialect == "postgresql" else merged


def _as_json_value(dialect: str, column: Column[Any]) -> ColumnElement[Any]:
    """The column as JSON can carry it: bytes as a backslash, ``x`` and their hex digits, as PostgreSQL writes
    ``bytea`` in JSON itself (MariaDB would write the raw bytes, which are not text; SQLite refuses them)."""
    kind = _python_type(column)
    if dialect in ("mysql", "mariadb") and kind is str:
        # a MariaDB JSON column is text to SQLAlchemy (and to a plain SELECT) but nested as a document by
        # JSON_OBJECT: CONCAT makes any text column plain text
        return func.concat(column)
    if kind is not bytes or dialect == "postgresql":
        return column
    if dialect in ("mysql", "mariadb"):
        return func.concat(literal_column("'\\\\x'"), func.hex(column))
    return literal_column("'\\x'").op("||")(func.hex(column))


def _python_type(column: Column[Any]) -> type[Any] | None:
    try:
        kind: type[Any] = column.type.python_type
    except NotImplementedError:
        return None
    return kind


def decoders(columns: list[Column[Any]]) -> dict[str, Decoder]:
    """Column name -> how its JSON value becomes the column's Python value."""
    out: dict[str, Decoder] = {}
    for column in columns:
        out[column.name] = _decoder(_python_type(column))
    return out


def _decoder(kind: type[Any] | None) -> Decoder:
    if kind is bool:
        return lambda v: v if isinstance(v, bool) else bool(int(v))
    if kind is int:
        return lambda v: v if isinstance(v, int) else int(v)
    if kind is Decimal:
        return lambda v: Decimal(str(v))
    if kind is float:
        return float
    if kind is datetime:
        return lambda v: datetime.fromisoformat(v) if isinstance(v, str) else v
    if kind is date:
        return lambda v: date.fromisoformat(v[:10]) if isinstance(v, str) else v
    if kind is time:
        return lambda v: time.fromisoformat(v) if isinstance(v, str) else v
    if kind is bytes:
        return lambda v: bytes.fromhex(v[2:]) if isinstance(v, str) and v.startswith("\\x") else v
    return lambda v: v


_JSON = json.JSONDecoder(parse_float=Decimal)  # made once: json.loads(..., parse_float=) builds one per call


def decode(text: str | bytes | dict[str, Any], columns: dict[str, Decoder]) -> dict[str, Any]:
    raw = text if isinstance(text, dict) else _JSON.decode(text.decode() if isinstance(text, bytes) else text)
    return {name: None if (value := raw.get(name)) is None else convert(value) for name, convert in columns.items()}


def readers(tables: list[list[Column[Any]]], description: Sequence[Sequence[Any]]) -> list[Callable[[Any], Any]]:
    """For each table, a row of the statement (``n``, the packed object) -> ``{column: value}``."""
    del description  # JSON values carry their own types; the columns' types say how to turn them back
    return [partial(_read, decoders(columns)) for columns in tables]


def _read(columns: dict[str, Decoder], row: Sequence[Any]) -> dict[str, Any]:
    return decode(row[1], columns)
