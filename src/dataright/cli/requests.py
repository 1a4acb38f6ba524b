"""``dataright requests``: rights requests from the command line.

``deadline`` needs no database: it recomputes the dates of any case from the declaration and the
jurisdiction pack, so staff and auditors can check them.
``list``, ``due`` and ``show`` read; ``assign``, ``verify``, ``start``, ``correct``, ``extend``, ``deny``, ``withdraw``,
``task-done`` and ``complete`` change a request exactly as the API does (audited as ``cli``); ``remind``
enqueues the daily reminder mail to each assigned staff member and ``expire`` closes requests never verified.
``disclosures`` lists the disclosure log (what was disclosed to whom and when; people as keyed hashes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from dataright.breach import service as breach
from dataright.cli.common import console, fail
from dataright.cli.database import in_session, settings_or_exit
from dataright.cli.options import (
    ControllerOption,
    DeclarationsOption,
    corrected_values,
    declaration_for,
    registry_for,
)
from dataright.declarations.schema import Declaration, Right
from dataright.errors import DataRightError
from dataright.requests import disclosures, service
from dataright.requests.deadlines import Deadline, deadline_for
from dataright.requests.lifecycle import OPEN, DenialReason, Status
from dataright.requests.models import RightsRequest
from dataright.requests.schemas import DisclosureOut, RequestOut
from dataright.storage.types import utcnow

requests_app = typer.Typer(
    help="Rights requests: deadlines, the request queue and the staff actions.", no_args_is_help=True
)

ACTOR = "cli"
WITHIN = re.compile(r"^(?P<n>\d+)(?P<unit>[dw]?)$")
RefArgument = Annotated[str, typer.Argument(help="The request's reference (R-...) or id.")]


def parse_within(text: str, flag: str = "--within") -> int:
    """``7d``, ``2w`` or ``7`` as a number of days."""
    match = WITHIN.fullmatch(text.strip().lower())
    if match is None:
        fail(f"error: {flag} {text!r}: expected a number of days like 7d, or weeks like 2w")
        raise AssertionError("unreachable")
    return int(match["n"]) * (7 if match["unit"] == "w" else 1)


def _find(session: Session, ref: str) -> RightsRequest:
    return service.find_any(session, ref)


def _table(requests: list[RightsRequest], today: date) -> Table:
    table = Table("reference", "controller", "type", "status", "received", "due", "assigned", box=None)
    for r in requests:
        late = Status(r.status) in OPEN and r.due_on < today
        due = f"{r.due_on.isoformat()}{' OVERDUE' if late else ''}"
        table.add_row(
            r.reference, r.controller_id, r.type, r.status, r.received_on.isoformat(), due, r.assigned_to or ""
        )
    return table


@requests_app.command("list")
def list_command(
    controller: Annotated[str | None, typer.Option("--controller", "-c", help="Only this controller's.")] = None,
    status: Annotated[str | None, typer.Option(help="A state, 'open' or 'overdue'.")] = None,
) -> None:
    """The requests, soonest deadline first (a controller sees those of its joint arrangements too)."""
    today = utcnow().date()
    found = in_session(lambda s: service.list_requests(s, controller_id=controller, status=status, today=today))
    console.print(_table(found, today))
    console.print(f"{len(found)} request(s)", markup=False)


@requests_app.command("due")
def due_command(
    within: Annotated[str, typer.Option(help="Open and due within this time: 7d, 2w.")] = "7d",
    controller: Annotated[str | None, typer.Option("--controller", "-c", help="Only this controller's.")] = None,
) -> None:
    """Open requests due within a time (overdue ones included)."""
    days, today = parse_within(within), utcnow().date()
    found = in_session(lambda s: service.list_requests(s, controller_id=controller, due_within=days, today=today))
    console.print(_table(found, today))
    console.print(f"{len(found)} request(s) due by {date.fromordinal(today.toordinal() + days)}", markup=False)


@requests_app.command("show")
def show_command(ref: RefArgument) -> None:
    """One request with its deadlines and tasks, and what the person wrote about it (``details``), as JSON."""

    def read(session: Session) -> dict[str, object]:
        found = _find(session, ref)
        return {**RequestOut.of(found).model_dump(mode="json"), "details": service.details_of(found)}

    console.print(json.dumps(in_session(read), indent=2, ensure_ascii=False), markup=False)


def _act(ref: str, paths: list[Path] | None, action: Callable[[Session, RightsRequest, Declaration], object]) -> None:
    registry = registry_for(paths)

    def run(session: Session) -> RequestOut:
        request = _find(session, ref)
        action(session, request, registry.controller(request.controller_id).declaration)
        return RequestOut.of(request)

    out = in_session(run)
    console.print(f"{out.reference}: {out.status}, due {out.due_on.isoformat()}", markup=False)


@requests_app.command("assign")
def assign_command(
    ref: RefArgument,
    to: Annotated[str, typer.Option("--to", help="The staff member's work e-mail address.")],
    declarations: DeclarationsOption = None,
) -> None:
    """Give a request to a staff member (they get the daily reminder)."""
    _act(ref, declarations, lambda s, r, d: service.assign(s, request=r, to=to, actor=ACTOR))


@requests_app.command("verify")
def verify_command(
    ref: RefArgument,
    reason: Annotated[str, typer.Option("--reason", help="How staff checked who the person is (audited).")],
    declarations: DeclarationsOption = None,
) -> None:
    """Vouch for the requester's identity, with a written reason."""
    _act(
        ref, declarations, lambda s, r, d: service.staff_verify(s, declaration=d, request=r, reason=reason, actor=ACTOR)
    )


@requests_app.command("start")
def start_command(ref: RefArgument, declarations: DeclarationsOption = None) -> None:
    """Begin work on a verified request (an erasure, rectification or restriction gets its tasks; the engine's
    job for the datastores is queued in the same transaction, for the server's runner or a worker)."""
    from dataright.jobs.fulfilment import start_work

    def begin(session: Session, request: RightsRequest, declaration: Declaration) -> None:
        service.start(session, declaration=declaration, request=request, actor=ACTOR)
        start_work(session, request, actor=ACTOR)

    _act(ref, declarations, begin)


@requests_app.command("correct")
def correct_command(
    ref: RefArgument,
    changes: Annotated[
        list[str], typer.Option("--set", help="table.field=value: a corrected value the person gave (repeatable).")
    ],
    declarations: DeclarationsOption = None,
) -> None:
    """Give (or replace) the corrected values of an open rectification; kept encrypted, audited by count only.
    A rectification already in progress has the engine's job queued in the same transaction."""
    from dataright.jobs.fulfilment import start_work

    values = corrected_values(changes)

    def correct(session: Session, request: RightsRequest, declaration: Declaration) -> None:
        service.set_corrections(session, request=request, values=values, actor=ACTOR)
        start_work(session, request, actor=ACTOR)

    _act(ref, declarations, correct)


@requests_app.command("extend")
def extend_command(
    ref: RefArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why more time is needed (told to the person).")],
    until: Annotated[str | None, typer.Option("--until", help="The new date, YYYY-MM-DD.")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Extend the deadline once, before it passes; the person is told at once."""
    new_date: date | None = None
    if until is not None:
        try:
            new_date = date.fromisoformat(until)
        except ValueError:
            fail(f"error: --until {until!r}: expected a date YYYY-MM-DD")
    _act(
        ref,
        declarations,
        lambda s, r, d: service.extend(s, declaration=d, request=r, reason=reason, until=new_date, actor=ACTOR),
    )


@requests_app.command("deny")
def deny_command(
    ref: RefArgument,
    reason: Annotated[DenialReason, typer.Option("--reason", help="Why the request is refused.")],
    note: Annotated[str | None, typer.Option("--note", help="What the person is told.")] = None,
    fee: Annotated[str | None, typer.Option("--fee", help="A fee, only for unfounded or excessive requests.")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Refuse a request; the person is told the reason and the authority they may complain to."""
    _act(
        ref,
        declarations,
        lambda s, r, d: service.deny(s, declaration=d, request=r, reason=reason, note=note, fee=fee, actor=ACTOR),
    )


@requests_app.command("withdraw")
def withdraw_command(
    ref: RefArgument,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Record that the person withdrew the request."""
    _act(ref, declarations, lambda s, r, d: service.withdraw(s, request=r, actor=ACTOR, reason=reason))


@requests_app.command("task-done")
def task_done_command(
    ref: RefArgument,
    task: Annotated[int, typer.Argument(help="The task number (see `requests show`).")],
    note: Annotated[str | None, typer.Option("--note")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Tick off one fulfilment task."""

    def tick(s: Session, r: RightsRequest, d: Declaration) -> object:
        owner = next((t.controller_id for t in r.tasks if t.id == task), r.controller_id)
        return service.complete_task(s, request=r, task_id=task, controller_id=owner, actor=ACTOR, note=note)

    _act(ref, declarations, tick)


@requests_app.command("complete")
def complete_command(ref: RefArgument, declarations: DeclarationsOption = None) -> None:
    """Close a request whose tasks are all done: the package link or the erasure reply goes to the person."""
    base_url = settings_or_exit().base_url
    _act(
        ref,
        declarations,
        lambda s, r, d: service.complete(s, declaration=d, request=r, actor=ACTOR, base_url=base_url),
    )


def _remind(controller_id: str, declaration: Declaration, days: int, today: date) -> int:
    return in_session(
        lambda s: service.remind(s, declaration=declaration, controller_id=controller_id, within=days, today=today)
    )


def _breach_warnings(controller_id: str, declaration: Declaration, days: int) -> list[breach.ClockWarning]:
    return in_session(
        lambda s: breach.remind(s, declaration=declaration, controller_id=controller_id, within=timedelta(days=days))
    )


@requests_app.command("remind")
def remind_command(
    within: Annotated[str, typer.Option(help="Remind of requests due within this time: 3d, 1w.")] = "3d",
    controller: Annotated[str | None, typer.Option("--controller", "-c", help="Only this controller.")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Enqueue today's reminder to each assigned staff member of what is due soon (run daily; once a day), and
    warn of breach clocks near or past due (mailed to the controller's privacy contact)."""
    days, today = parse_within(within), utcnow().date()
    registry = registry_for(declarations)
    chosen = [controller] if controller else registry.controller_ids
    total = breach_warnings = 0
    for controller_id in chosen:
        try:
            declaration = registry.controller(controller_id).declaration
        except DataRightError as exc:
            fail(f"error: --controller {controller_id}: {exc}")
            raise AssertionError("unreachable") from None
        total += _remind(controller_id, declaration, days, today)
        warnings = _breach_warnings(controller_id, declaration, days)
        for w in warnings:
            console.print(
                f"warning: breach {w.breach_reference} ({w.controller_id}): {w.clock.value} due "
                f"{w.due.isoformat(timespec='minutes')} [{w.state.value}]",
                markup=False,
            )
        breach_warnings += len(warnings)
    console.print(f"{total} reminder(s) enqueued", markup=False)
    if breach_warnings:
        console.print(f"{breach_warnings} breach clock(s) near or past due", markup=False)


@requests_app.command("expire")
def expire_command(declarations: DeclarationsOption = None) -> None:
    """Expire requests whose requester never confirmed who they are (run daily); each requester is told."""
    registry = registry_for(declarations)
    count = in_session(
        lambda s: service.expire_unverified(
            s, controller_ids=registry.controller_ids, declaration_of=lambda c: registry.controller(c).declaration
        )
    )
    console.print(f"{count} unverified request(s) expired", markup=False)


@requests_app.command("disclosures")
def disclosures_command(
    controller: Annotated[str | None, typer.Option("--controller", "-c", help="Only this controller's.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind (breach_notice, ...).")] = None,
    recipient: Annotated[str | None, typer.Option("--recipient", help="Only to this recipient.")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="Only for this request or breach.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this day (YYYY-MM-DD, UTC) or time.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=disclosures.MAX_LIST)] = 1_000,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """The disclosure log, newest first: kind, recipient, purpose, counts, time; the person as a keyed hash."""
    start: datetime | None = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            fail(f"error: --since {since!r}: expected YYYY-MM-DD or an ISO 8601 time with its offset")
            raise AssertionError("unreachable") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
    found = in_session(
        lambda s: [
            DisclosureOut.of(d)
            for d in disclosures.list_disclosures(
                s,
                controller_id=controller,
                kind=kind,
                recipient=recipient,
                reference=reference,
                start=start,
                limit=limit,
            )
        ]
    )
    if as_json:
        for row in found:
            console.print(row.model_dump_json(), markup=False, soft_wrap=True)
        return
    columns = ("when (UTC)", "controller", "kind", "recipient", "purpose", "people", "subject", "reference")
    table = Table(*columns, box=None)
    for row in found:
        table.add_row(
            row.disclosed_at.astimezone(UTC).isoformat(timespec="seconds"),
            row.controller_id,
            row.kind,
            row.recipient,
            row.purpose or "",
            str(row.people),
            f"{row.subject_kind}:{row.subject_hash[:12]}" if row.subject_hash else "",
            row.reference or "",
        )
    console.print(table)
    console.print(f"{len(found)} disclosure(s)", markup=False)


def _received(value: str) -> date | datetime:
    """``YYYY-MM-DD`` (a date on the controller's calendar) or an ISO 8601 timestamp with its offset."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"error: --received {value!r}: expected YYYY-MM-DD or an ISO 8601 timestamp with offset")
        raise AssertionError("unreachable") from None
    if moment.tzinfo is None:
        fail(f"error: --received {value!r}: a timestamp needs its offset (2026-03-02T09:15:00+01:00 or ...Z)")
    return moment


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def deadline_json(deadline: Deadline) -> dict[str, object]:
    return {
        "controller": deadline.controller_id,
        "jurisdiction": deadline.jurisdiction,
        "type": deadline.right.value if deadline.right else None,
        "timezone": deadline.timezone,
        "received": deadline.received.isoformat(),
        "statutory": deadline.statutory.isoformat(),
        "statutory_period": deadline.statutory_period.iso(),
        "promised": _iso(deadline.promised),
        "promised_period": deadline.promised_period.iso() if deadline.promised_period else None,
        "binding": deadline.binding.isoformat(),
        "extension_notice_by": deadline.extension_notice_by.isoformat(),
        "extension_offered": deadline.extension_offered,
        "extension_limit": _iso(deadline.extension_limit),
        "statutory_extension_limit": _iso(deadline.statutory_extension_limit),
        "promised_extension_limit": _iso(deadline.promised_extension_limit),
        "extension_condition": deadline.extension_condition,
        "reference": deadline.reference,
        "counting": deadline.counting_reference,
    }


@requests_app.command("deadline")
def deadline_command(
    controller: ControllerOption,
    received: Annotated[
        str,
        typer.Option(
            "--received", help="When the request arrived: YYYY-MM-DD on the controller's calendar, or a timestamp."
        ),
    ],
    request_type: Annotated[
        Right | None, typer.Option("--type", "-t", help="The request type; must be one the controller offers.")
    ] = None,
    declarations: DeclarationsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the dates as JSON.")] = False,
) -> None:
    """Print the statutory, promised and binding dates of a request and how far an extension may run."""
    declaration = declaration_for(controller, declarations)
    try:
        deadline = deadline_for(declaration, controller, _received(received), request_type)
    except DataRightError as exc:
        fail(f"error: {exc}")
        raise AssertionError("unreachable") from None
    if as_json:
        console.print_json(json.dumps(deadline_json(deadline)))
        return
    promised = (
        f"{deadline.promised.isoformat()}  ({deadline.promised_period} promised by the controller)"
        if deadline.promised is not None and deadline.promised_period is not None
        else "-  (no promise of its own)"
    )
    limit = deadline.extension_limit
    rows = [
        ("controller", f"{deadline.controller_id}  ({deadline.jurisdiction}, {deadline.timezone})"),
        ("type", deadline.right.value if deadline.right else "any"),
        ("received", deadline.received.isoformat()),
        (
            "statutory",
            f"{deadline.statutory.isoformat()}  ({deadline.statutory_period}, {deadline.reference}; "
            f"{deadline.counting_reference})",
        ),
        ("promised", promised),
        ("binding", f"{deadline.binding.isoformat()}  (the earlier date binds)"),
        ("extension notice by", deadline.extension_notice_by.isoformat()),
        (
            "extension limit",
            "none: the controller's notice offers no extension"
            if not deadline.extension_offered
            else limit.isoformat()
            if limit is not None
            else "none fixed: the written notice states the date",
        ),
        ("extension needs", deadline.extension_condition),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        console.print(f"{label:<{width}}  {value}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(requests_app, name="requests")
