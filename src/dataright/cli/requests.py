"""``dataright requests``: rights requests from the command line.

``deadline`` needs no database: it recomputes the dates of any case from the declaration and the
jurisdiction pack, so staff and auditors can check them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer

from dataright.cli.common import console, fail
from dataright.cli.options import ControllerOption, DeclarationsOption, declaration_for
from dataright.declarations.schema import Right
from dataright.errors import DataRightError
from dataright.requests.deadlines import Deadline, deadline_for

requests_app = typer.Typer(help="Rights requests: deadlines and the request queue.", no_args_is_help=True)


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
            limit.isoformat() if limit is not None else "none fixed: the written notice states the date",
        ),
        ("extension needs", deadline.extension_condition),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        console.print(f"{label:<{width}}  {value}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(requests_app, name="requests")
