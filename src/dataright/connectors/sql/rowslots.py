"""Every table of an access request in one statement, each column in a typed slot: ``UNION ALL`` of one branch
per table, where the branch puts its columns into the statement's slots and NULL into the slots it does not use.

Tables have different columns, so a plain ``UNION`` cannot carry them. Slots are shared by type: a slot is
typed once (``BIGINT``, ``TEXT``, ``DATE`` ...) and each table's columns of that type take the first free
slots of it, so the statement is as wide as the most columns of each type in any one table, not as wide as
all the tables together. The database sends each value in its own type, nothing is packed into JSON on the
server and parsed again in Python (``rowjson``, the way used where slots do not fit), and each value goes
through the column type's result processor exactly as in a plain ``SELECT`` of the table.

On PostgreSQL ``varchar`` and ``text`` columns share ``text`` slots (the cast costs nothing; a column's own
collation, which orders values but never changes one, is left behind) and the unused slots hold ``NULL``
cast to the slot's type, because a ``UNION`` resolves an untyped ``NULL`` as ``text``. SQLite needs no types.
MariaDB/MySQL take ``rowjson``: a ``UNION`` of string columns there fails when two tables' collations
differ, which JSON objects never meet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import TEXT, VARCHAR, Column, ColumnElement, Dialect, String, cast, null
from sqlalchemy.exc import CompileError
from sqlalchemy.types import TypeEngine

DIALECTS = ("postgresql", "sqlite")
MAX_SLOTS = 1_000
"""Widest statement built (PostgreSQL takes at most 1,664 result columns, SQLite 2,000)."""
_SHARE_AS_TEXT = (VARCHAR, TEXT, String)

RowReader = Callable[[Sequence[Any]], dict[str, Any]]


class Layout:
    """Which slot each column of each table takes; the branch of each table; how its rows are read back."""

    def __init__(self, dialect: Dialect, tables: list[list[Column[Any]]]) -> None:
        self.dialect = dialect
        self.tables = tables
        self._slot_types: list[Any] = []  # the SQL type each slot is cast to (PostgreSQL), by slot
        self._slot_of_key: dict[str, list[int]] = {}
        self.positions: list[list[int]] = []  # by table, by column: the slot (0 = the first after ``n``)
        for columns in tables:
            taken: dict[str, int] = {}
            where: list[int] = []
            for column in columns:
                key, slot_type = self._key(column)
                i = taken.get(key, 0)
                taken[key] = i + 1
                slots = self._slot_of_key.setdefault(key, [])
                if i == len(slots):
                    slots.append(len(self._slot_types))
                    self._slot_types.append(slot_type)
                where.append(slots[i])
            self.positions.append(where)

    @property
    def width(self) -> int:
        return len(self._slot_types)

    def _key(self, column: Column[Any]) -> tuple[str, Any]:
        """The slot type a column goes into, by name, and the type to cast its slot's NULLs to."""
        type_ = column.type
        if self.dialect.name == "sqlite":  # values keep their own storage class whatever the slot: one kind
            return "ANY", None
        if type(type_) in _SHARE_AS_TEXT:
            return "TEXT", TEXT()
        try:
            return type_.compile(dialect=self.dialect), type_
        except CompileError:  # a type SQLAlchemy cannot name (reflected as NullType): sent as its text form
            return "TEXT", TEXT()

    def branch_columns(self, index: int) -> list[ColumnElement[Any]]:
        """The slots of table ``index``'s branch: its columns where they go, NULL in the rest."""
        out: list[ColumnElement[Any]] = []
        mine = dict(zip(self.positions[index], self.tables[index], strict=True))
        typed = self.dialect.name == "postgresql"
        for slot, slot_type in enumerate(self._slot_types):
            column = mine.get(slot)
            if column is None:
                value: ColumnElement[Any] = cast(null(), slot_type) if typed else null()
            elif typed and isinstance(slot_type, TEXT) and not _plain_text(column.type):
                value = cast(column, TEXT())  # varchar, or a collation of its own: plain text, as the slot is
            else:
                value = column
            out.append(value.label(f"s{slot}"))
        return out

    def readers(self, description: Sequence[Sequence[Any]]) -> list[RowReader]:
        """For each table, row -> ``{column: value}``, values through their types' result processors (which may
        depend on the driver's type codes in the cursor's ``description``; column 0 is ``n``)."""
        out: list[RowReader] = []
        for columns, positions in zip(self.tables, self.positions, strict=True):
            processors = [
                _processor(column.type, self.dialect, description[1 + slot][1])
                for column, slot in zip(columns, positions, strict=True)
            ]
            out.append(_reader([c.name for c in columns], [1 + p for p in positions], processors))
        return out


def _plain_text(type_: TypeEngine[Any]) -> bool:
    return type(type_) is TEXT and getattr(type_, "collation", None) is None


def _processor(type_: TypeEngine[Any], dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).result_processor(dialect, coltype)
    return processor


def _reader(names: list[str], positions: list[int], processors: list[Callable[[Any], Any] | None]) -> RowReader:
    get = itemgetter(*positions)
    converted = [(i, f) for i, f in enumerate(processors) if f is not None]
    if len(positions) == 1:
        (name,), (position,) = names, positions

        def one(row: Sequence[Any]) -> dict[str, Any]:
            value = row[position]
            return {name: processors[0](value) if processors[0] is not None else value}

        return one
    if not converted:
        return lambda row: dict(zip(names, get(row), strict=True))

    def with_processors(row: Sequence[Any]) -> dict[str, Any]:
        values = list(get(row))
        for i, convert in converted:
            values[i] = convert(values[i])
        return dict(zip(names, values, strict=True))

    return with_processors
