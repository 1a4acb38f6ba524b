"""``dataright breach open|assess|notify|list|show|deadline``: the breach register from the command line."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from dataright.breach import clocks, service
from dataright.breach.documents import authority_notification
from dataright.breach.models import Risk
from dataright.cli.common import console, fail
from dataright.cli.database import cli_session
from dataright.cli.options import ControllerOption, DeclarationsOption, declaration_for
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.errors import DataRightError
from dataright.requests import disclosures

breach_app = typer.Typer(help="The breach register (GDPR Art. 33/34, PDPA Part 6A).", no_args_is_help=True)
ACTOR = "cli"


def _moment(flag: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"error: {flag} {text!r}: not an ISO 8601 time (e.g. 2026-11-27T19:30+01:00)")
        raise AssertionError("unreachable") from None
    if value.tzinfo is None:
        fail(f"error: {flag} {text!r}: give the UTC offset (e.g. 2026-11-27T19:30+01:00)")
    return value


def _day(flag: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"error: {flag} {text!r}: not a date YYYY-MM-DD")
        raise AssertionError("unreachable") from None


def _print_deadlines(found: list[clocks.Deadline], states: dict[str, clocks.ClockState] | None = None) -> None:
    for deadline in found:
        due = deadline.due.isoformat() if deadline.due is not None else "-"
        state = f" [{states[deadline.clock.value].value}]" if states else ""
        console.print(f"{deadline.clock.value}: {due}{state}  ({deadline.reference}; {deadline.rule})", markup=False)


@breach_app.command("deadline")
def deadline_command(
    controller: ControllerOption,
    aware: Annotated[str, typer.Option("--aware", help="When the controller became aware (ISO 8601 with offset).")],
    assessed: Annotated[str | None, typer.Option("--assessed", help="The day of the assessment, YYYY-MM-DD.")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Print each deadline that applies, in the controller's time zone; records nothing."""
    declaration = declaration_for(controller, declarations)
    entry = declaration.controller_by_id[controller]
    try:
        rule = get_jurisdiction(entry.jurisdiction).breach
        zone = service.controller_timezone(entry)
        found = clocks.deadlines(
            rule, zone, aware_at=_moment("--aware", aware), assessed_on=_day("--assessed", assessed)
        )
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    console.print(f"{controller} ({entry.jurisdiction}, {zone})", markup=False)
    _print_deadlines(found)


@breach_app.command("open")
def open_command(
    controller: ControllerOption,
    occurred: Annotated[str, typer.Option("--occurred", help="When it happened (ISO 8601 with offset).")],
    aware: Annotated[str, typer.Option("--aware", help="When the controller became aware (ISO 8601 with offset).")],
    system: Annotated[list[str], typer.Option("--system", help="An affected system id (repeatable).")],
    category: Annotated[list[str], typer.Option("--category", help="An affected data category (repeatable).")],
    people: Annotated[int, typer.Option("--people", help="Number of people affected (an estimate is fine).")],
    description: Annotated[str, typer.Option("--description", help="What happened.")],
    consequences: Annotated[str, typer.Option("--consequences", help="Likely consequences.")],
    measures: Annotated[str, typer.Option("--measures", help="Measures taken or proposed.")],
    estimated: Annotated[bool, typer.Option("--estimated", help="The counts are estimates.")] = False,
    records: Annotated[int | None, typer.Option("--records", help="Number of records affected.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact point (default: DPO or contact).")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Record an incident (linked records for every controller using an affected system)."""
    declaration = declaration_for(controller, declarations)
    draft = service.IncidentDraft(
        occurred_at=_moment("--occurred", occurred),
        aware_at=_moment("--aware", aware),
        description=description,
        systems=tuple(system),
        categories=tuple(category),
        affected_people=people,
        affected_people_estimated=estimated,
        affected_records=records,
        affected_records_estimated=estimated,
        likely_consequences=consequences,
        measures=measures,
        contact=contact,
    )
    try:
        with cli_session() as session:
            opened = service.open_incident(session, declaration, controller, draft, actor=ACTOR)
            lines = [f"{b.reference} {b.id} {b.controller_id}" for b in opened]
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    for line in lines:
        console.print(f"opened {line}", markup=False)


@breach_app.command("assess")
def assess_command(
    breach: Annotated[str, typer.Argument(help="The breach reference (BR-2026-0001) or id.")],
    risk: Annotated[Risk | None, typer.Option("--risk", help="GDPR: unlikely, risk or high.")] = None,
    significant_harm: Annotated[
        bool | None, typer.Option("--significant-harm/--no-significant-harm", help="PDPA: likely significant harm.")
    ] = None,
    on: Annotated[str | None, typer.Option("--on", help="Day of the assessment (default today).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is not notifiable.")] = None,
    exemption: Annotated[str | None, typer.Option("--exemption", help="Why the people are not told.")] = None,
) -> None:
    """Record the assessment: notifiable or not, and whether the people concerned are told."""
    assessment = service.Assessment(
        assessed_on=_day("--on", on),
        risk=risk,
        significant_harm=significant_harm,
        reason=reason,
        individuals_exemption=exemption,
    )
    try:
        with cli_session() as session:
            record = service.assess(session, service.find_breach(session, breach).id, assessment, actor=ACTOR)
            summary = f"{record.reference}: notifiable={record.notifiable} individuals={record.individuals_required}"
            due = service.authority_deadline(session, record)
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    console.print(summary, markup=False)
    console.print(f"authority due: {due.isoformat() if due else '-'}", markup=False)


def _recipients(path: Path) -> list[service.Recipient]:
    if not path.is_file():
        fail(f"error: --subjects {path}: no such file")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for number, row in enumerate(rows, start=2):
        if not row.get("email") or not row.get("language"):
            fail(f"error: {path}:{number}: needs the columns email and language")
        out.append(service.Recipient(row["email"], row["language"]))
    return out


def _messages(path: Path) -> dict[str, service.SubjectMessage]:
    if not path.is_file():
        fail(f"error: --messages {path}: no such file")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        fail(f"error: {path}: expected a mapping of language -> description, likely_consequences, measures, contact")
    try:
        return {str(lang): service.SubjectMessage(**fields) for lang, fields in data.items()}
    except TypeError as exc:
        fail(f"error: {path}: {exc}")
        raise AssertionError("unreachable") from None


@breach_app.command("notify")
def notify_command(
    breach: Annotated[str, typer.Argument(help="The breach reference or id.")],
    document: Annotated[
        str | None, typer.Option("--document", help="Write the authority notification: md or html.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File for --document (default stdout).")] = None,
    authority_sent: Annotated[
        str | None, typer.Option("--authority-sent", help="Record the authority notification sent at this time.")
    ] = None,
    delay_reason: Annotated[str | None, typer.Option("--delay-reason", help="Reasons for a late notification.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note on this submission (phase).")] = None,
    subjects: Annotated[Path | None, typer.Option("--subjects", help="CSV with email,language of the people.")] = None,
    messages: Annotated[Path | None, typer.Option("--messages", help="YAML: language -> message texts.")] = None,
    declarations: DeclarationsOption = None,
) -> None:
    """Generate the authority's document, record it as sent, or queue the messages to the people concerned."""
    if not (document or authority_sent or subjects):
        fail("error: give --document md|html, --authority-sent TIME or --subjects FILE --messages FILE")
    if document is not None and document not in ("md", "html"):
        fail(f"error: --document {document!r}: md or html")
    try:
        with cli_session() as session:
            record = service.find_breach(session, breach)
            declaration = declaration_for(record.controller_id, declarations)
            if document is not None:
                text = authority_notification(
                    service.view(session, record), declaration, "md" if document == "md" else "html"
                )
                if output is None:
                    console.print(text, markup=False, end="")
                else:
                    output.write_text(text, encoding="utf-8")
                    console.print(f"wrote {output}", markup=False)
            if authority_sent is not None:
                submission = service.record_authority_notification(
                    session,
                    record.id,
                    sent_at=_moment("--authority-sent", authority_sent),
                    actor=ACTOR,
                    delay_reason=delay_reason,
                    note=note,
                )
                console.print(f"{record.reference}: authority submission {submission.phase} recorded", markup=False)
            if subjects is not None:
                if messages is None:
                    fail("error: --subjects needs --messages FILE (the texts in each language)")
                    return
                queued = service.notify_subjects(
                    session,
                    record.id,
                    recipients=_recipients(subjects),
                    messages=_messages(messages),
                    controller_name=declaration.controller_by_id[record.controller_id].name,
                    actor=ACTOR,
                    disclosure=disclosures.breach_notice_recorder(ACTOR),
                )
                console.print(
                    f"{record.reference}: {queued} message(s) queued; `dataright mail send` sends them", markup=False
                )
    except DataRightError as exc:
        fail(f"error: {exc}")


@breach_app.command("list")
def list_command(
    controller: Annotated[str | None, typer.Option("--controller", "-c", help="Only this controller.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, assessed, notified or closed.")] = None,
) -> None:
    """Every recorded breach with its authority clock."""
    try:
        with cli_session(write=False) as session:
            table = Table("reference", "controller", "status", "aware", "authority due", "clock", box=None)
            for record in service.list_breaches(session, controller_id=controller, status=status):
                view = service.view(session, record)
                due = next(d.due for d in view.deadlines if d.clock is clocks.Clock.authority)
                table.add_row(
                    record.reference,
                    record.controller_id,
                    record.status,
                    view.breach.aware_at.isoformat(timespec="minutes"),
                    due.isoformat(timespec="minutes") if due else "-",
                    view.states["authority"].value,
                )
    except DataRightError as exc:
        fail(f"error: {exc}")
        return
    console.print(table)


@breach_app.command("show")
def show_command(breach: Annotated[str, typer.Argument(help="The breach reference or id.")]) -> None:
    """One record: what happened, the assessment, every clock, submissions and notices."""
    try:
        with cli_session(write=False) as session:
            view = service.view(session, service.find_breach(session, breach))
            b = view.breach
            for label, value in (
                ("reference", b.reference),
                ("id", str(b.id)),
                ("controller", f"{b.controller_id} ({b.jurisdiction}, {b.timezone})"),
                ("status", b.status),
                ("occurred", b.occurred_at.isoformat()),
                ("aware", b.aware_at.isoformat()),
                ("systems", ", ".join(b.systems)),
                ("categories", ", ".join(b.categories)),
                ("people", f"{b.affected_people}{' (estimate)' if b.affected_people_estimated else ''}"),
                (
                    "notifiable",
                    str(b.notifiable) + (f": {'; '.join(b.notifiable_because)}" if b.notifiable_because else ""),
                ),
                ("linked", ", ".join(f"{ref} ({cid})" for cid, ref in view.linked) or "-"),
                ("submissions", str(len(view.submissions))),
                ("people notified", str(view.notices)),
            ):
                console.print(f"{label}: {value}", markup=False)
            _print_deadlines(view.deadlines, view.states)
    except DataRightError as exc:
        fail(f"error: {exc}")


def register(app: typer.Typer) -> None:
    app.add_typer(breach_app, name="breach")
