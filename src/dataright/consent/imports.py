"""Bulk import of existing consents from CSV: validate the whole file first, then record row by row.

Columns (a header row names them; order is free, unknown columns are an error):

* identity: ``email``, ``phone``, ``customer_id`` (at least one), optional ``birth_date`` (YYYY-MM-DD)
* what: ``purpose``, or ``topic`` with ``channel``, or ``cookie`` (a category)
* ``status``: given, withdrawn, refused or objected
* ``occurred_at``: ISO 8601 with a time zone (``2024-03-01T10:00:00+01:00``, ``...Z``) or a date (UTC midnight)
* optional ``notice_version``, ``source``, ``text_hash`` (SHA-256 hex of the text shown), ``language``
* optional ``import_key``: the row's identity for re-runs; by default a hash of the row's content

Every problem is reported as ``file:line column: message``; nothing is written while any remains. A
re-run records only the rows whose import key is not in the ledger yet, so an interrupted import resumes.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TextIO, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.bounds import check_birth_date, check_occurred_at
from dataright.consent.models import ConsentEvent
from dataright.consent.rules import EventKind, Method, rules_for, validate_event
from dataright.consent.service import CLOCK_SKEW, Proof, import_key_difference, record
from dataright.consent.targets import Holder, Target
from dataright.declarations.schema import Declaration
from dataright.errors import ConfigurationError, DataRightError, Located
from dataright.identity import service as identity
from dataright.identity.normalise import IdentifierKind, normalise
from dataright.storage.types import utcnow
from dataright.text import check_line, check_note

IDENTITY_COLUMNS = tuple(k.value for k in IdentifierKind)
COLUMNS = frozenset(
    {
        *IDENTITY_COLUMNS,
        "birth_date",
        "purpose",
        "topic",
        "channel",
        "cookie",
        "status",
        "occurred_at",
        "notice_version",
        "source",
        "text_hash",
        "language",
        "import_key",
    }
)
_T = TypeVar("_T")
IMPORTABLE = (EventKind.given, EventKind.withdrawn, EventKind.refused, EventKind.objected)


@dataclass(frozen=True)
class ImportRow:
    file: str
    line: int
    identifiers: dict[str, str]
    birth_date: date | None
    target: Target
    kind: EventKind
    occurred_at: datetime
    notice_version: str | None
    source: str | None
    proof: Proof
    import_key: str


@dataclass
class ImportResult:
    recorded: int = 0
    already_imported: int = 0
    refused: int = 0
    suppressed: int = 0
    """Rows of people who had themselves erased (a suppression record): skipped."""


class ImportRowFailed(DataRightError):
    """A row that validated but could not be recorded (it contradicts what the database holds)."""

    title = "Import row failed"
    status = 409

    def __init__(self, where: Located) -> None:
        super().__init__(str(where))
        self.where = where


class _RowProblem(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _target(cells: dict[str, str]) -> Target:
    purpose, topic, channel, cookie = (cells.get(k, "") for k in ("purpose", "topic", "channel", "cookie"))
    named = [k for k, v in (("purpose", purpose), ("topic", topic), ("cookie", cookie)) if v]
    if len(named) != 1:
        raise _RowProblem("purpose", "give exactly one of purpose, topic (with channel) or cookie")
    try:
        if purpose:
            return Target.purpose(purpose)
        if cookie:
            return Target.cookie(cookie)
        if not channel:
            raise _RowProblem("channel", f"topic {topic!r} needs a channel")
        return Target.topic(topic, channel)
    except ValueError as exc:
        raise _RowProblem(named[0], str(exc)) from None


def _moment(text: str) -> datetime:
    if not text:
        raise _RowProblem("occurred_at", "required: when the person gave or withdrew consent")
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _RowProblem("occurred_at", f"{text!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        raise _RowProblem("occurred_at", f"{text!r} has no time zone; add Z or an offset such as +01:00")
    if moment > utcnow() + CLOCK_SKEW:
        raise _RowProblem("occurred_at", f"{text!r} lies in the future")
    try:
        check_occurred_at(moment)
    except ValueError as exc:
        raise _RowProblem("occurred_at", f"{text!r} {exc}") from None
    return moment.astimezone(UTC)


def _identifiers(cells: dict[str, str], region: str | None) -> dict[str, str]:
    identifiers: dict[str, str] = {}
    for kind in IDENTITY_COLUMNS:
        if cells.get(kind):
            try:
                identifiers[kind] = normalise(kind, cells[kind], region=region)
            except ConfigurationError:
                raise
            except DataRightError as exc:
                raise _RowProblem(kind, str(exc).split(": ", 1)[-1]) from None
    if not identifiers:
        raise _RowProblem("email", f"at least one of {', '.join(IDENTITY_COLUMNS)} is needed")
    return identifiers


def _birth_date(cells: dict[str, str]) -> date | None:
    if not cells.get("birth_date"):
        return None
    try:
        born = date.fromisoformat(cells["birth_date"])
    except ValueError:
        raise _RowProblem("birth_date", f"{cells['birth_date']!r} is not a date (YYYY-MM-DD)") from None
    try:
        return check_birth_date(born)
    except ValueError as exc:
        raise _RowProblem("birth_date", str(exc)) from None


# the free-text cells and what each may hold (dataright.text): stored in clear, so `source` names no person
TEXT_CELLS: dict[str, Callable[[str], str]] = {
    "notice_version": check_line,
    "source": check_note,
    "language": check_line,
    "import_key": check_line,
}


def _texts(cells: dict[str, str]) -> None:
    for column, check in TEXT_CELLS.items():
        if cells.get(column):
            try:
                check(cells[column])
            except ValueError as exc:
                raise _RowProblem(column, str(exc)) from None


def _kind(cells: dict[str, str]) -> EventKind:
    status = cells.get("status", "")
    if status not in {k.value for k in IMPORTABLE}:
        raise _RowProblem("status", f"{status!r} is not one of {', '.join(k.value for k in IMPORTABLE)}")
    return EventKind(status)


def _allowed(declaration: Declaration, controller_id: str, target: Target, kind: EventKind) -> None:
    try:
        validate_event(rules_for(declaration, controller_id).rule(target), kind)
    except ConfigurationError:
        raise
    except DataRightError as exc:
        raise _RowProblem(target.kind.value, str(exc)) from None


def _proof(cells: dict[str, str]) -> Proof:
    proof = Proof(text_hash=cells.get("text_hash") or None, language=cells.get("language") or None)
    try:
        proof.digest()
    except DataRightError as exc:
        raise _RowProblem("text_hash", str(exc).split(": ", 1)[-1]) from None
    return proof


def _row(
    cells: dict[str, str], file: str, line: int, declaration: Declaration, controller_id: str, region: str | None
) -> ImportRow | list[_RowProblem]:
    """The row, or every problem it has."""
    problems: list[_RowProblem] = []

    def attempt(step: Callable[[], _T]) -> _T | None:
        try:
            return step()
        except _RowProblem as exc:
            problems.append(exc)
            return None

    identifiers = attempt(lambda: _identifiers(cells, region))
    birth_date = attempt(lambda: _birth_date(cells))
    target = attempt(lambda: _target(cells))
    kind = attempt(lambda: _kind(cells))
    if target is not None and kind is not None:
        attempt(lambda: _allowed(declaration, controller_id, target, kind))
    occurred_at = attempt(lambda: _moment(cells.get("occurred_at", "")))
    proof = attempt(lambda: _proof(cells))
    attempt(lambda: _texts(cells))
    if problems:
        return problems
    assert identifiers is not None and target is not None and kind is not None
    assert occurred_at is not None and proof is not None
    content = "\x1f".join(f"{k}={cells.get(k, '')}" for k in sorted(COLUMNS - {"import_key"}))
    return ImportRow(
        file=file,
        line=line,
        identifiers=identifiers,
        birth_date=birth_date,
        target=target,
        kind=kind,
        occurred_at=occurred_at,
        notice_version=cells.get("notice_version") or None,
        source=cells.get("source") or None,
        proof=proof,
        import_key=cells.get("import_key") or "sha256:" + hashlib.sha256(content.encode()).hexdigest(),
    )


DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024


def sniff_delimiter(handle: TextIO) -> str:
    """The file's delimiter (comma, semicolon, tab or bar; spreadsheets in many locales write semicolons),
    guessed from its first lines by ``csv.Sniffer``; a comma when nothing is conclusive. Rewinds ``handle``."""
    start = handle.tell()
    sample = handle.read(SNIFF_BYTES)
    handle.seek(start)
    if len(sample) == SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _unknown_columns(unknown: list[str]) -> str:
    named = []
    for column in unknown:
        near = difflib.get_close_matches(column, sorted(COLUMNS), n=1)
        named.append(f"{column!r} (did you mean {near[0]!r}?)" if near else repr(column))
    return f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(named)}"


def read_rows(path: Path, declaration: Declaration, controller_id: str) -> tuple[list[ImportRow], list[Located]]:
    """Every row of the file, validated; and every problem found, each at its file:line and column."""
    rules_for(declaration, controller_id)  # an unknown controller fails here, before reading
    region = declaration.controller_by_id[controller_id].country
    rows: list[ImportRow] = []
    problems: list[Located] = []
    keys: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=sniff_delimiter(handle))
        header = [h.strip() for h in reader.fieldnames or []]
        unknown = [h for h in header if h not in COLUMNS]
        if not header or unknown:
            message = _unknown_columns(unknown) if unknown else "the file is empty; a header row is needed"
            return [], [Located(str(path), 1, "header", f"{message}; expected some of {', '.join(sorted(COLUMNS))}")]
        reader.fieldnames = header
        for cells in reader:
            line = reader.line_num
            extra = cells.pop(None, None)  # DictReader puts surplus cells under the key None
            if isinstance(extra, list) and extra:
                message = f"{len(header) + len(extra)} cells for {len(header)} columns"
                problems.append(Located(str(path), line, "", message))
                continue
            clean = {k: (v or "").strip() for k, v in cells.items()}
            if not any(clean.values()):
                continue
            row = _row(clean, str(path), line, declaration, controller_id, region)
            if isinstance(row, list):
                problems.extend(Located(str(path), line, p.column, str(p)) for p in row)
                continue
            if row.import_key in keys:
                problems.append(
                    Located(str(path), line, "import_key", f"repeats the row on line {keys[row.import_key]}")
                )
                continue
            keys[row.import_key] = line
            rows.append(row)
    return rows, problems


def _earlier_events(session: Session, controller_id: str, rows: Sequence[ImportRow]) -> dict[str, ConsentEvent]:
    """The events already recorded under the rows' import keys, by key."""
    found = session.execute(
        select(ConsentEvent).where(
            ConsentEvent.controller_id == controller_id, ConsentEvent.import_key.in_([r.import_key for r in rows])
        )
    )
    return {event.import_key: event for event in found.scalars() if event.import_key is not None}


def already_imported(session: Session, controller_id: str, rows: Sequence[ImportRow]) -> set[str]:
    return set(_earlier_events(session, controller_id, rows))


def _difference(
    session: Session, declaration: Declaration, controller_id: str, row: ImportRow, earlier: ConsentEvent
) -> str | None:
    region = declaration.controller_by_id[controller_id].country
    owners = {
        found.id
        for kind, value in row.identifiers.items()
        if (found := identity.find_subject(session, controller_id=controller_id, kind=kind, value=value, region=region))
    }
    holder = Holder.subject(earlier.subject_id) if earlier.subject_id in owners else Holder.subject(uuid.uuid4())
    return import_key_difference(earlier, target=row.target, kind=row.kind, holder=holder, occurred_at=row.occurred_at)


def reused_keys(
    session: Session, *, declaration: Declaration, controller_id: str, rows: Sequence[ImportRow]
) -> list[Located]:
    """Rows whose import key is in the ledger already for a different event: each at its file:line, so the
    file can be fixed before anything is written (the same key with the same row is simply skipped)."""
    problems: list[Located] = []
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        earlier = _earlier_events(session, controller_id, batch)
        for row in batch:
            event = earlier.get(row.import_key)
            difference = _difference(session, declaration, controller_id, row, event) if event else None
            if difference is not None:
                problems.append(Located(row.file, row.line, "import_key", _reused(row.import_key, difference)))
    return problems


def _reused(key: str, difference: str) -> str:
    return (
        f"{key!r} was imported before for a different event ({difference}); "
        "a new row needs a new import_key (or leave the column empty: the row's content is its key)"
    )


def import_rows(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    rows: Sequence[ImportRow],
    actor: str,
    result: ImportResult,
) -> None:
    """Record one batch of validated rows in the caller's transaction; ``ImportRowFailed`` names a bad row
    (one that contradicts the database, or whose import key was used for a different event)."""
    earlier = _earlier_events(session, controller_id, rows)
    for row in rows:
        event = earlier.get(row.import_key)
        if event is not None:
            difference = _difference(session, declaration, controller_id, row, event)
            if difference is not None:
                raise ImportRowFailed(Located(row.file, row.line, "import_key", _reused(row.import_key, difference)))
            result.already_imported += 1
            continue
        try:
            _import_row(session, declaration, controller_id, row, actor, result)
        except ConfigurationError:
            raise  # the settings are at fault, not the row
        except DataRightError as exc:
            raise ImportRowFailed(Located(row.file, row.line, "", str(exc))) from exc


def _import_row(
    session: Session, declaration: Declaration, controller_id: str, row: ImportRow, actor: str, result: ImportResult
) -> None:
    region = declaration.controller_by_id[controller_id].country
    if identity.is_suppressed(session, controller_id=controller_id, identifiers=row.identifiers, region=region):
        result.suppressed += 1  # the person asked to be erased: never brought back by an import
        return
    subject = identity.get_or_create_subject(
        session,
        controller_id=controller_id,
        identifiers=row.identifiers,
        birth_date=row.birth_date,
        region=region,
        actor=actor,
    )
    event = record(
        session,
        declaration=declaration,
        controller_id=controller_id,
        target=row.target,
        kind=row.kind,
        method=Method.import_,
        actor=actor,
        subject_id=subject.id,
        notice_version=row.notice_version,
        occurred_at=row.occurred_at,
        source=row.source,
        proof=row.proof,
        import_key=row.import_key,
    )
    result.recorded += 1
    if event.kind == EventKind.refused and row.kind is EventKind.given:
        result.refused += 1


def audit_import(
    session: Session, *, controller_id: str, name: str, rows: int, result: ImportResult, actor: str
) -> None:
    """One audit entry for a whole import run (each recorded event has its own entry too)."""
    audit(
        session,
        actor=actor,
        action="consent.imported",
        entity_type="consent_import",
        entity_id=name,
        controller_id=controller_id,
        details={
            "rows": rows,
            "recorded": result.recorded,
            "already_imported": result.already_imported,
            "suppressed": result.suppressed,
        },
    )
