"""Draft a dataset declaration from a live database: tables, columns, types and foreign keys, with guesses.

The database is only read (SQLAlchemy's inspector). Categories and identity kinds are guessed from column
names and types; every guess carries a note (``# review: ...`` in the written YAML) because a name is a hint,
not a fact. Only tables an identity reaches over foreign keys (either direction) are drafted: the engine
refuses tables it cannot reach, and the rest are listed for the reviewer.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, Text, create_engine, inspect
from sqlalchemy.engine import URL, Inspector
from sqlalchemy.engine.interfaces import ReflectedColumn, ReflectedForeignKeyConstraint
from sqlalchemy.exc import SQLAlchemyError

from dataright.errors import ValidationFailed

PathT = tuple[str | int, ...]

# (column name pattern, category, identity kind or None); the first match wins
NAME_GUESSES: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), category, identity)
    for pattern, category, identity in (
        (r"(^|_)e_?mail(_address)?$", "user.contact.email", "email"),
        (r"(^|_)(phone|mobile|msisdn|telephone|tel)(_number|_no)?$", "user.contact.phone_number", "phone_number"),
        (r"(^|_)(first|given)_?name$", "user.name.first", None),
        (r"(^|_)(last|family|sur)_?name$", "user.name.last", None),
        (r"^(full_?)?name$|(^|_)(customer|user|contact|guardian|parent|child|student)_name$", "user.name", None),
        (r"(^|_)(username|user_name|login|handle)$", "user.account.username", None),
        (r"(^|_)(password|passwd|pwd)(_hash)?$", "user.authorization.password", None),
        (r"(^|_)(street|address(_line)?\d?)$", "user.contact.address.street", None),
        (r"(^|_)(city|town)$", "user.contact.address.city", None),
        (r"(^|_)(zip|postal_?code|post_?code)$", "user.contact.address.postal_code", None),
        (r"(^|_)country(_code)?$", "user.contact.address.country", None),
        (r"(^|_)(birth_?date|date_of_birth|dob|birthday)$", "user.demographic.date_of_birth", None),
        (r"(^|_)(gender|sex)$", "user.demographic.gender", None),
        (r"(^|_)(language|locale)$", "user.demographic.language", None),
        (r"(^|_)ip(_address|_addr)?$", "user.device.ip_address", None),
        (r"(^|_)(device_id|device)$", "user.device.device_id", None),
        (r"(^|_)(cookie_id|anonymous_id|visitor_id)$", "user.device.cookie_id", None),
        (
            r"(^|_)(ssn|national_id|personnummer|fodselsnummer|nric)$",
            "user.government_id.national_identification_number",
            None,
        ),
        (r"(^|_)(iban|bank_account|account_number)$", "user.financial.bank_account", None),
        (r"(^|_)(card_number|pan|credit_card)$", "user.financial.credit_card", None),
        (r"(^|_)(lat|latitude|lon|lng|longitude)$", "user.location.precise", None),
        (r"(^|_)(message|body|comment|notes?|text)$", "user.content.private", None),
    )
)
IDENTITY_WORDS = {"email": "an e-mail address", "phone_number": "a phone number"}
PEOPLE_TABLES = re.compile(
    r"^(customers?|users?|accounts?|members?|persons?|people|students?|clients?|contacts?|guardians?|parents?)$",
    re.IGNORECASE,
)


@dataclass
class Draft:
    """One dataset mapping (dataright's shape), notes on its guesses, and tables left out with the reason."""

    dataset: dict[str, Any]
    notes: dict[PathT, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def guess(name: str) -> tuple[str, str | None] | None:
    """(category, identity kind) a column name suggests, or None."""
    for pattern, category, identity in NAME_GUESSES:
        if pattern.search(name):
            return category, identity
    return None


def draft_dataset(url: URL, *, dataset_id: str, url_template: str, schema: str | None = None) -> Draft:
    """Reflect the database at ``url`` (read only) into a draft declaration written with ``url_template``."""
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise ValidationFailed(f"URL: SQLAlchemy cannot open this database ({type(exc).__name__})") from None
    try:
        inspector = inspect(engine)
        names = sorted(inspector.get_table_names(schema=schema))
        return _draft(inspector, names, dataset_id=dataset_id, url_template=url_template, schema=schema)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationFailed(f"cannot read the database schema: {reason}") from None
    finally:
        engine.dispose()


def _draft(inspector: Inspector, names: list[str], *, dataset_id: str, url_template: str, schema: str | None) -> Draft:
    columns = {n: inspector.get_columns(n, schema=schema) for n in names}
    keys = {n: list(inspector.get_pk_constraint(n, schema=schema).get("constrained_columns") or []) for n in names}
    foreign = {n: inspector.get_foreign_keys(n, schema=schema) for n in names}
    uniques = {n: {tuple(u["column_names"]) for u in inspector.get_unique_constraints(n, schema=schema)} for n in names}

    identity_tables = {
        n for n in names if any((g := guess(c["name"])) is not None and g[1] is not None for c in columns[n])
    }
    identity_tables |= {n for n in names if PEOPLE_TABLES.match(n) and len(keys[n]) == 1}
    reachable = _reachable(identity_tables, foreign, names)

    draft = Draft(dataset={"id": dataset_id, "connector": "sql", "url": url_template, "tables": []})
    draft.left_out = [n for n in names if n not in reachable]
    tables: list[dict[str, Any]] = draft.dataset["tables"]
    for name in names:
        if name not in reachable:
            continue
        at: PathT = ("tables", len(tables))
        table: dict[str, Any] = {"name": name}
        if keys[name]:
            table["primary_key"] = list(keys[name])
        fields: list[dict[str, Any]] = []
        refs = {fk["constrained_columns"][0]: fk for fk in foreign[name] if len(fk["constrained_columns"]) == 1}
        for column in columns[name]:
            entry = _field(name, column, keys[name], refs, uniques[name], (*at, "fields", len(fields)), draft)
            if entry is not None:
                fields.append(entry)
        if not fields:
            draft.left_out.append(name)
            continue
        table["fields"] = fields
        if not any("erasure" in f for f in fields) and any("data_categories" in f for f in fields):
            table["erasure"] = "delete_row"
            draft.notes[(*at, "erasure")] = "no column guessed nullable or rewritable: the whole row goes"
        tables.append(table)
    draft.left_out.sort()
    return draft


def _reachable(start: set[str], foreign: dict[str, list[ReflectedForeignKeyConstraint]], names: list[str]) -> set[str]:
    neighbours: dict[str, set[str]] = {n: set() for n in names}
    for child, fks in foreign.items():
        for fk in fks:
            parent = fk.get("referred_table")
            if parent in neighbours:
                neighbours[child].add(parent)
                neighbours[parent].add(child)
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in neighbours[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _field(
    table: str,
    column: ReflectedColumn,
    primary: list[str],
    refs: dict[str, ReflectedForeignKeyConstraint],
    uniques: set[tuple[str, ...]],
    at: PathT,
    draft: Draft,
) -> dict[str, Any] | None:
    name = str(column["name"])
    entry: dict[str, Any] = {"name": name}
    fk = refs.get(name)
    if fk is not None:
        referred = f"{fk['referred_table']}.{fk['referred_columns'][0]}"
        entry["references"] = [{"field": referred, "direction": "from"}]
    guessed = guess(name)
    is_key = name in primary
    if guessed is None and is_key and len(primary) == 1 and PEOPLE_TABLES.match(table):
        guessed = ("user.unique_id", "customer_id")
        draft.notes[(*at, "data_categories", 0)] = f"the key of {table}, a person's id"
        draft.notes[(*at, "identity")] = f"the key of {table}, taken for the customer id"
    if guessed is not None:
        category, identity = guessed
        entry["data_categories"] = [category]
        draft.notes.setdefault((*at, "data_categories", 0), f"guessed from the column name {name!r}")
        if identity is not None:
            entry["identity"] = identity
            draft.notes.setdefault((*at, "identity"), f"{name!r} looks like {IDENTITY_WORDS.get(identity, identity)}")
        if not is_key and fk is None:
            strategy = _strategy(column, unique=(name,) in uniques)
            if strategy is not None:
                entry["erasure"] = strategy
                draft.notes[(*at, "erasure")] = _why(column, unique=(name,) in uniques)
    if guessed is None and fk is None and not is_key:
        return None
    return entry


def _strategy(column: ReflectedColumn, *, unique: bool) -> dict[str, Any] | None:
    kind = column["type"]
    if unique:
        return {"strategy": "pseudonymise"} if isinstance(kind, String | Text) else None
    if column.get("nullable", True):
        return {"strategy": "null"}
    if isinstance(kind, String | Text):
        return {"strategy": "redact", "value": "[erased]"}
    if isinstance(kind, Integer | Numeric) and not isinstance(kind, Boolean):
        return {"strategy": "redact", "value": 0}
    if isinstance(kind, Date | DateTime):
        return None
    return None


def _why(column: ReflectedColumn, *, unique: bool) -> str:
    if unique:
        return "unique column: a stable pseudonym keeps it unique"
    if column.get("nullable", True):
        return "nullable column"
    return "NOT NULL column: a fixed value"
