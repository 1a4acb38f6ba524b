"""The datastore part of an access or portability package: the person's rows from the connector engine's access
run, streamed table by table into temporary files as the engine yields them (memory stays flat), with the JSON
Schema of what a portability package holds.

Only datastores whose connection this server has are read; the others are named so the package can say what
it does not include. Portability keeps the fields the person provided under consent or contract: categories a
consent- or contract-based purpose collects from them directly or observes, never credentials or keys.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from dataright.config import environment, get_settings
from dataright.connectors.base import DatastoreUnavailable
from dataright.connectors.registry import open_connector
from dataright.declarations.datasets import Dataset, Table
from dataright.declarations.schema import Declaration, LegalBasis, SourceType
from dataright.engine.graph import TraversalGraph, build_graph
from dataright.engine.service import Engine, Request
from dataright.errors import Conflict, DataRightError

PORTABLE_BASES = frozenset({LegalBasis.consent, LegalBasis.contract})
PROVIDED_SOURCES = frozenset({SourceType.direct, SourceType.automatic})
NEVER_PORTED = {"user.authorization"}
SAMPLE_ROWS = 50
"""Rows of each table shown in the readable page (every row is in the table's files)."""


# ------------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _json_type(value: Any) -> dict[str, str]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float | Decimal):
        return {"type": "number"} if isinstance(value, float) else {"type": "string", "format": "decimal"}
    if isinstance(value, datetime):
        return {"type": "string", "format": "date-time"}
    if isinstance(value, date):
        return {"type": "string", "format": "date"}
    return {"type": "string"}


# ------------------------------------------------------------------------------------------------
# the datastores
# ------------------------------------------------------------------------------------------------
@dataclass
class TableFile:
    """One table's rows, spooled to temporary files as they stream in."""

    dataset: str
    table: str
    columns: list[str]
    jsonl: IO[str]
    csv_file: IO[str] | None
    writer: Any
    rows: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    types: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.dataset}.{self.table}"


class _ConnectedEngine(Engine):
    """The engine over the datasets whose connection this server has (the others are named as not included)."""

    def __init__(self, datasets: Sequence[Dataset], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._datasets = tuple(datasets)

    def graph(self, request: Request) -> TraversalGraph:
        return build_graph(self._datasets, request.identities.keys(), require_all=False)


def _connected(datasets: Sequence[Dataset], environ: Mapping[str, str]) -> tuple[list[Dataset], list[dict[str, str]]]:
    """The datasets whose connector opens with this server's configuration, and why the others do not."""
    ready: list[Dataset] = []
    missing: list[dict[str, str]] = []
    for dataset in datasets:
        try:
            connector = open_connector(dataset, environ)
        except DataRightError as exc:
            missing.append({"dataset": dataset.id, "name": dataset.name or dataset.id, "reason": str(exc)})
            continue
        connector.close()
        ready.append(dataset)
    return ready, missing


def portable_categories(declaration: Declaration, controller_id: str) -> set[str]:
    """Categories the person provided under consent or contract (GDPR Art. 20(1)(a))."""
    return {
        category
        for purpose in declaration.purposes_of(controller_id)
        if purpose.legal_basis in PORTABLE_BASES and any(s.type in PROVIDED_SOURCES for s in purpose.sources)
        for category in purpose.data_categories
    }


def _is_portable(categories: Sequence[str], portable: set[str]) -> bool:
    return any(c == p or c.startswith(p + ".") for c in categories for p in portable)


def _portable_fields(table: Table, portable: set[str]) -> list[str]:
    """The table's fields the person provided; never credentials (a password hash is no data to take along)."""
    return [
        f.name
        for f in table.fields
        if f.data_categories
        and _is_portable(f.data_categories, portable)
        and not _is_portable(f.data_categories, NEVER_PORTED)
    ]


def _spool(
    folder: Path,
    files: dict[str, TableFile],
    dataset: str,
    table: str,
    rows: list[dict[str, Any]],
    keep: list[str] | None,
    with_csv: bool,
) -> None:
    key = f"{dataset}.{table}"
    out = files.get(key)
    if out is None:
        columns = keep if keep is not None else list(rows[0].keys()) if rows else []
        jsonl = (folder / f"{key}.jsonl").open("w", encoding="utf-8")
        csv_file = (folder / f"{key}.csv").open("w", encoding="utf-8", newline="") if with_csv else None
        writer = csv.DictWriter(csv_file, fieldnames=columns, extrasaction="ignore") if csv_file else None
        if writer is not None:
            writer.writeheader()
        out = files[key] = TableFile(dataset, table, columns, jsonl, csv_file, writer)
    for row in rows:
        record = {c: row.get(c) for c in out.columns}
        out.jsonl.write(json.dumps(record, default=plain, ensure_ascii=False) + "\n")
        if out.writer is not None:
            out.writer.writerow({k: plain(v) for k, v in record.items()})
        for column, value in record.items():
            if value is not None and column not in out.types:
                out.types[column] = _json_type(value)
        if len(out.sample) < SAMPLE_ROWS:
            out.sample.append({k: plain(v) for k, v in record.items()})
        out.rows += 1


def _nested_session_factory(session: Session) -> sessionmaker[Session]:
    """Sessions that join the caller's transaction (as savepoints): the engine's audit entries commit or roll
    back with the request's own change, and SQLite's single writer never waits on itself."""
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


def stream_datastores(
    session: Session,
    declaration: Declaration,
    controller_id: str,
    identities: dict[str, str],
    folder: Path,
    files: dict[str, TableFile],
    *,
    portable: set[str] | None,
    actor: str,
    done: set[str],
) -> list[dict[str, str]]:
    """Stream the person's rows of the controller's datastores into ``files`` (a datastore several parties share
    is read once: ``done``); the datastores not included."""
    datasets = [d for d in declaration.datasets_of(controller_id) if d.id not in done]
    done.update(d.id for d in datasets)
    if not datasets:
        return []
    environ = environment()
    ready, missing = _connected(datasets, environ)
    if not ready:
        return missing
    if not identities:
        return [*missing, *({"dataset": d.id, "name": d.name or d.id, "reason": "no identifier"} for d in ready)]
    tables = {(d.id, t.name): t for d in ready for t in d.tables}
    engine = _ConnectedEngine(
        ready,
        declaration,
        session_factory=_nested_session_factory(session),
        keys=get_settings().keys(),
        environ=environ,
        actor=actor,
        retries=1,
        backoff=0.5,
    )
    try:
        for section in engine.access(Request("access", controller_id, identities)):
            keep = None
            if portable is not None:
                keep = _portable_fields(tables[(section.datastore, section.table)], portable)
                if not keep:
                    continue
            _spool(folder, files, section.datastore, section.table, section.rows, keep, with_csv=portable is None)
    except DatastoreUnavailable as exc:
        raise Conflict(f"the package cannot be made now: {exc}; try again when the datastore answers") from None
    finally:
        engine.close()
    return missing


def table_summary(files: Mapping[str, TableFile], controller_datasets: set[str]) -> list[dict[str, Any]]:
    return [
        {
            "dataset": f.dataset,
            "table": f.table,
            "rows": f.rows,
            "files": [f"datastores/{f.name}.jsonl", *([f"datastores/{f.name}.csv"] if f.csv_file else [])],
        }
        for f in files.values()
        if f.dataset in controller_datasets
    ]


def portability_schema(files: Mapping[str, TableFile]) -> dict[str, Any]:
    """JSON Schema (2020-12) of the portability package: ``data.json`` and each ``datastores/*.jsonl`` row."""
    tables = {
        name: {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                c: {**f.types.get(c, {}), "type": [f.types.get(c, {}).get("type", "string"), "null"]} for c in f.columns
            },
            "required": f.columns,
        }
        for name, f in files.items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dataright.dev/schemas/portability-package.json",
        "title": "Data you provided (GDPR Art. 20)",
        "type": "object",
        "required": ["request", "controllers"],
        "properties": {
            "request": {
                "type": "object",
                "required": ["reference", "type", "generated_at"],
                "properties": {
                    "reference": {"type": "string"},
                    "type": {"const": "portability"},
                    "generated_at": {"type": "string", "format": "date-time"},
                },
            },
            "controllers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "consents", "datastores"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "consents": {"type": "array", "items": {"type": "object"}},
                        "datastores": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["dataset", "table", "rows", "files"],
                                "properties": {
                                    "dataset": {"type": "string"},
                                    "table": {"type": "string"},
                                    "rows": {"type": "integer", "minimum": 0},
                                    "files": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        },
        "$defs": {"rows": tables},
    }
