"""The breach register's operations: open, assess, record the authority notification, notify the people.

Every change is one transaction with its audit entry (ids, field names, counts; never the text, which may
describe people) and a revision row holding the record as it stood after the change (the edit history).
Bad input is refused before anything is written: awareness before occurrence, a negative count, an unknown
system or data category (checked against the controller's declaration), an assessment after the
authority was notified.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dataright.audit.service import append
from dataright.breach import clocks
from dataright.breach.models import Breach, BreachRevision, BreachStatus, BreachSubjectNotice, BreachSubmission, Risk
from dataright.declarations.jurisdictions import BreachRule, Jurisdiction, get_jurisdiction
from dataright.declarations.schema import Controller, Declaration
from dataright.declarations.taxonomy import FIDES_CATEGORY_KEYS
from dataright.errors import Conflict, NotFound, ValidationFailed
from dataright.mail import service as mail
from dataright.storage.types import utcnow

SNAPSHOT_FIELDS = (
    "status",
    "occurred_at",
    "aware_at",
    "description",
    "systems",
    "categories",
    "affected_people",
    "affected_people_estimated",
    "affected_records",
    "affected_records_estimated",
    "likely_consequences",
    "measures",
    "contact",
    "assessed_on",
    "risk",
    "significant_harm",
    "prescribed_classes",
    "notifiable",
    "notifiable_because",
    "assessment_reason",
    "individuals_required",
    "individuals_exemption",
    "delay_reason",
    "authority_notified_at",
    "individuals_notified_at",
)


@dataclass(frozen=True)
class IncidentDraft:
    """What staff know when they open a record (estimates allowed)."""

    occurred_at: datetime
    aware_at: datetime
    description: str
    systems: tuple[str, ...]
    categories: tuple[str, ...]
    affected_people: int
    likely_consequences: str
    measures: str
    affected_people_estimated: bool = False
    affected_records: int | None = None
    affected_records_estimated: bool = False
    contact: str | None = None


@dataclass(frozen=True)
class Assessment:
    """The assessment: GDPR by ``risk``; PDPA by ``significant_harm`` (scale and prescribed data also count)."""

    assessed_on: date | None = None
    risk: Risk | None = None
    significant_harm: bool | None = None
    reason: str | None = None
    individuals_exemption: str | None = None


@dataclass(frozen=True)
class SubjectMessage:
    """The free text of the message to the people concerned, in one language (the frame is translated)."""

    description: str
    likely_consequences: str
    measures: str
    contact: str
    advice: str = ""


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str


@dataclass(frozen=True)
class BreachView:
    """A record with its clocks, for the API, the CLI and the documents."""

    breach: Breach
    deadlines: list[clocks.Deadline]
    states: dict[str, clocks.ClockState]
    linked: list[tuple[str, str]] = field(default_factory=list)
    """(controller id, reference) of the other records of the same incident."""
    submissions: list[BreachSubmission] = field(default_factory=list)
    notices: int = 0


def controller_timezone(controller: Controller) -> str:
    """The controller's time zone (``Controller.timezone``: declared, or its country's only zone)."""
    if not controller.timezone:
        raise ValidationFailed(f"controller {controller.id}: declare its time zone (timezone: an IANA name)")
    return controller.timezone


def _require_aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{name}: a time with a UTC offset is required (e.g. 2026-11-27T19:30+01:00)")
    return value


def _text(name: str, value: str) -> str:
    if not value.strip():
        raise ValidationFailed(f"{name}: empty; describe it (an estimate or 'not yet known' is fine)")
    return value.strip()


def declared_categories(declaration: Declaration) -> set[str]:
    return set(FIDES_CATEGORY_KEYS) | {c.id for c in declaration.data_categories}


def controllers_of_systems(declaration: Declaration, systems: Iterable[str]) -> list[str]:
    """The controllers whose processing uses any of ``systems`` (as recipient or source), in declaration order."""
    wanted = set(systems)
    users: set[str] = set()
    for purpose in declaration.purposes:
        used = set(purpose.recipients) | {s.system for s in purpose.sources if getattr(s, "system", None)}
        if used & wanted:
            users.update(purpose.controllers)
    for cookie in declaration.cookies:
        if cookie.system in wanted:
            users.update(cookie.controllers or [c.id for c in declaration.controllers])
    return [c.id for c in declaration.controllers if c.id in users]


def _validate(declaration: Declaration, controller_id: str, draft: IncidentDraft) -> None:
    if controller_id not in declaration.controller_by_id:
        raise NotFound(f"unknown controller {controller_id!r}")
    occurred = _require_aware("occurred_at", draft.occurred_at)
    aware = _require_aware("aware_at", draft.aware_at)
    if aware < occurred:
        raise ValidationFailed(
            "aware_at: before occurred_at; a controller cannot become aware of a breach before it happens"
        )
    if aware > utcnow():
        raise ValidationFailed("aware_at: in the future")
    if draft.affected_people < 0:
        raise ValidationFailed("affected_people: negative; give the number (an estimate is allowed), 0 or more")
    if draft.affected_records is not None and draft.affected_records < 0:
        raise ValidationFailed("affected_records: negative; give the number (an estimate is allowed), 0 or more")
    if not draft.systems:
        raise ValidationFailed("systems: name at least one system from the declaration")
    unknown_systems = [s for s in draft.systems if s not in declaration.system_by_id]
    if unknown_systems:
        raise ValidationFailed(
            f"systems: unknown system(s) {', '.join(unknown_systems)}; declared: {', '.join(declaration.system_by_id)}"
        )
    if not draft.categories:
        raise ValidationFailed("categories: name at least one data category (fideslang key or declared category)")
    known = declared_categories(declaration)
    unknown = [c for c in draft.categories if c not in known]
    if unknown:
        raise ValidationFailed(
            f"categories: unknown data category(ies) {', '.join(unknown)}; use fideslang keys or the declaration's "
            "data_categories"
        )
    for name in ("description", "likely_consequences", "measures"):
        _text(name, getattr(draft, name))


def default_contact(controller: Controller) -> str:
    contact = controller.dpo or controller.contact
    parts = [contact.name, contact.email, contact.phone]
    return ", ".join(part for part in parts if part) or controller.legal_name


def _snapshot(breach: Breach) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(breach, name)
        out[name] = value.isoformat() if isinstance(value, datetime | date) else value
    return out


def _record(session: Session, breach: Breach, action: str, actor: str, changed: Sequence[str], **details: Any) -> None:
    """The revision row and the audit entry of one change (field names and counts only in the audit)."""
    breach.updated_at = utcnow()
    session.flush()
    session.add(
        BreachRevision(
            breach_id=breach.id, revision=breach.revision, action=action, actor=actor, snapshot=_snapshot(breach)
        )
    )
    append(
        session,
        actor=actor,
        action=action,
        entity_type="breach",
        entity_id=breach.id,
        controller_id=breach.controller_id,
        details={"revision": breach.revision, "changed": sorted(changed), **details},
    )


def _reference(session: Session, aware_at: datetime) -> str:
    year = aware_at.astimezone(ZoneInfo("UTC")).year
    count = session.scalar(select(func.count()).select_from(Breach).where(Breach.reference.like(f"BR-{year}-%"))) or 0
    while True:
        count += 1
        candidate = f"BR-{year}-{count:04d}"
        if session.scalar(select(Breach.id).where(Breach.reference == candidate)) is None:
            return candidate


def open_incident(
    session: Session, declaration: Declaration, controller_id: str, draft: IncidentDraft, *, actor: str
) -> list[Breach]:
    """Record an incident: one record for ``controller_id``, plus a linked one for each other controller of
    the declaration whose processing uses an affected system (each with its own clock). Records first."""
    _validate(declaration, controller_id, draft)
    controllers = [controller_id] + [
        c for c in controllers_of_systems(declaration, draft.systems) if c != controller_id
    ]
    group_id = uuid.uuid4()
    opened: list[Breach] = []
    for cid in controllers:
        controller = declaration.controller_by_id[cid]
        get_jurisdiction(controller.jurisdiction)  # an unknown pack fails here, before anything is written
        breach = Breach(
            id=uuid.uuid4(),
            reference=_reference(session, draft.aware_at),
            group_id=group_id,
            controller_id=cid,
            jurisdiction=controller.jurisdiction,
            timezone=controller_timezone(controller),
            status=BreachStatus.open.value,
            occurred_at=draft.occurred_at,
            aware_at=draft.aware_at,
            description=draft.description.strip(),
            systems=list(draft.systems),
            categories=list(draft.categories),
            affected_people=draft.affected_people,
            affected_people_estimated=draft.affected_people_estimated,
            affected_records=draft.affected_records,
            affected_records_estimated=draft.affected_records_estimated,
            likely_consequences=draft.likely_consequences.strip(),
            measures=draft.measures.strip(),
            contact=(draft.contact or "").strip() or default_contact(controller),
            prescribed_classes=[],
            notifiable_because=[],
            revision=1,
        )
        session.add(breach)
        session.flush()
        _record(session, breach, "breach.opened", actor, SNAPSHOT_FIELDS, linked=len(controllers) - 1)
        opened.append(breach)
    return opened


def get_breach(session: Session, breach_id: uuid.UUID, *, controller_id: str | None = None) -> Breach:
    breach = session.get(Breach, breach_id)
    if breach is None or (controller_id is not None and breach.controller_id != controller_id):
        raise NotFound(f"no breach {breach_id}" + (f" for controller {controller_id}" if controller_id else ""))
    return breach


def find_breach(session: Session, key: str) -> Breach:
    """By id or by reference (``BR-2026-0001``)."""
    try:
        return get_breach(session, uuid.UUID(key))
    except ValueError:
        pass
    breach = session.scalars(select(Breach).where(Breach.reference == key)).first()
    if breach is None:
        raise NotFound(f"no breach {key!r}")
    return breach


def rule_of(breach: Breach) -> BreachRule:
    return jurisdiction_of(breach).breach


def jurisdiction_of(breach: Breach) -> Jurisdiction:
    return get_jurisdiction(breach.jurisdiction)


def prescribed_classes_in(rule: BreachRule, categories: Iterable[str]) -> list[str]:
    """The pack's prescribed data classes that any of ``categories`` falls under."""
    found = []
    for data_class in rule.prescribed_data_classes:
        for category in categories:
            if any(category == key or category.startswith(key + ".") for key in data_class.categories):
                found.append(data_class.id)
                break
    return found


def assess(session: Session, breach_id: uuid.UUID, assessment: Assessment, *, actor: str) -> Breach:
    """Record the assessment: whether the authority and the people must be told, and why (or why not)."""
    breach = get_breach(session, breach_id)
    if breach.authority_notified_at is not None:
        raise Conflict(
            f"breach {breach.reference}: the authority was notified on {breach.authority_notified_at.isoformat()}; "
            "an assessment cannot come after the notification (record a follow-up submission instead)"
        )
    rule = rule_of(breach)
    zone = ZoneInfo(breach.timezone)
    assessed_on = assessment.assessed_on or utcnow().astimezone(zone).date()
    if assessed_on < breach.aware_at.astimezone(zone).date():
        raise ValidationFailed("assessed_on: before the day the controller became aware of the breach")
    because: list[str] = []
    prescribed: list[str] = []
    if rule.notifiable_when == "risk":
        if assessment.risk is None:
            raise ValidationFailed("risk: required under this law (unlikely, risk or high)")
        notifiable = assessment.risk is not Risk.unlikely
        individuals = assessment.risk is Risk.high
        if notifiable:
            because.append(f"risk to the rights and freedoms of people ({rule.notifiable_reference})")
        if individuals:
            because.append(f"high risk: the people concerned are told ({rule.individuals_reference})")
    else:
        if assessment.significant_harm is None:
            raise ValidationFailed("significant_harm: required under this law (true or false)")
        prescribed = prescribed_classes_in(rule, breach.categories)
        harm = assessment.significant_harm or bool(prescribed)
        scale = rule.notifiable_min_affected is not None and breach.affected_people >= rule.notifiable_min_affected
        notifiable = harm or scale
        individuals = harm
        if prescribed:
            because.append(f"prescribed personal data: {', '.join(prescribed)} ({rule.notifiable_reference})")
        if assessment.significant_harm:
            because.append(f"likely significant harm ({rule.notifiable_reference})")
        if scale:
            because.append(f"{breach.affected_people} people affected, at least {rule.notifiable_min_affected}")
    if not notifiable and not (assessment.reason or "").strip():
        raise ValidationFailed("reason: say why the breach is not notifiable (it is kept in the register)")
    if notifiable and not individuals and not (assessment.individuals_exemption or assessment.reason or "").strip():
        raise ValidationFailed(
            f"individuals_exemption: say why the people concerned are not told ({rule.individuals_exemption_reference})"
        )
    breach.assessed_on = assessed_on
    breach.risk = assessment.risk.value if assessment.risk is not None else None
    breach.significant_harm = assessment.significant_harm
    breach.prescribed_classes = prescribed
    breach.notifiable = notifiable
    breach.notifiable_because = because
    breach.assessment_reason = (assessment.reason or "").strip() or None
    breach.individuals_required = individuals
    breach.individuals_exemption = (assessment.individuals_exemption or "").strip() or None
    breach.status = BreachStatus.assessed.value
    breach.revision += 1
    _record(
        session,
        breach,
        "breach.assessed",
        actor,
        ["assessed_on", "risk", "significant_harm", "notifiable", "individuals_required", "status"],
        notifiable=notifiable,
    )
    return breach


def view(session: Session, breach: Breach, *, now: datetime | None = None) -> BreachView:
    rule = rule_of(breach)
    found = clocks.deadlines(rule, breach.timezone, aware_at=breach.aware_at, assessed_on=breach.assessed_on)
    moment = now or utcnow()
    done = {
        clocks.Clock.assessment: datetime.combine(
            breach.assessed_on, datetime.min.time(), tzinfo=ZoneInfo(breach.timezone)
        )
        if breach.assessed_on
        else None,
        clocks.Clock.authority: breach.authority_notified_at
        if breach.authority_notified_at is not None
        else (breach.updated_at if breach.notifiable is False else None),
        clocks.Clock.individuals: breach.individuals_notified_at
        if breach.individuals_notified_at is not None
        else (breach.updated_at if breach.individuals_required is False else None),
    }
    states = {d.clock.value: clocks.state(d, now=moment, done_at=done[d.clock]).value for d in found}
    linked = [
        (row.controller_id, row.reference)
        for row in session.scalars(select(Breach).where(Breach.group_id == breach.group_id, Breach.id != breach.id))
    ]
    submissions = list(
        session.scalars(
            select(BreachSubmission).where(BreachSubmission.breach_id == breach.id).order_by(BreachSubmission.phase)
        )
    )
    notices = (
        session.scalar(
            select(func.count()).select_from(BreachSubjectNotice).where(BreachSubjectNotice.breach_id == breach.id)
        )
        or 0
    )
    return BreachView(breach, found, {k: clocks.ClockState(v) for k, v in states.items()}, linked, submissions, notices)


def authority_deadline(session: Session, breach: Breach) -> datetime | None:
    return next(d.due for d in view(session, breach).deadlines if d.clock is clocks.Clock.authority)


def record_authority_notification(
    session: Session,
    breach_id: uuid.UUID,
    *,
    sent_at: datetime,
    actor: str,
    delay_reason: str | None = None,
    note: str | None = None,
) -> BreachSubmission:
    """Record that the notification (or a follow-up: phased, Art. 33(4)) went to the authority at ``sent_at``.

    A first submission after the deadline needs the reasons for the delay (Art. 33(1)); the breach must have
    been assessed first."""
    breach = get_breach(session, breach_id)
    _require_aware("sent_at", sent_at)
    if breach.assessed_on is None:
        raise Conflict(f"breach {breach.reference}: assess it first (`dataright breach assess`)")
    if sent_at < breach.aware_at:
        raise ValidationFailed("sent_at: before the controller became aware of the breach")
    phase = (
        session.scalar(select(func.max(BreachSubmission.phase)).where(BreachSubmission.breach_id == breach.id)) or 0
    ) + 1
    due = authority_deadline(session, breach)
    late = due is not None and sent_at > due and phase == 1
    reason = (delay_reason or "").strip() or None
    if late and reason is None and breach.delay_reason is None:
        raise ValidationFailed(
            f"delay_reason: the notification is later than the deadline {due.isoformat() if due else ''}; "
            f"give the reasons for the delay ({rule_of(breach).authority_reference})"
        )
    submission = BreachSubmission(
        breach_id=breach.id, phase=phase, sent_at=sent_at, late=late, note=(note or "").strip() or None, actor=actor
    )
    session.add(submission)
    changed = ["submissions"]
    if phase == 1:
        breach.authority_notified_at = sent_at
        breach.status = BreachStatus.notified.value
        changed += ["authority_notified_at", "status"]
    if reason is not None:
        breach.delay_reason = reason
        changed.append("delay_reason")
    breach.revision += 1
    _record(session, breach, "breach.authority_notified", actor, changed, phase=phase, late=late)
    return submission


def notify_subjects(
    session: Session,
    breach_id: uuid.UUID,
    *,
    recipients: Sequence[Recipient],
    messages: Mapping[str, SubjectMessage],
    controller_name: str,
    actor: str,
    disclosure: Callable[..., object] | None = None,
) -> int:
    """Queue the message to each person concerned, in their language, through the outbox (in this
    transaction); each person once per breach. Returns how many were newly queued. ``disclosure`` is called
    for each newly queued person (``requests.disclosures.breach_notice_recorder`` logs it)."""
    breach = get_breach(session, breach_id)
    rule = rule_of(breach)
    if breach.assessed_on is None:
        raise Conflict(f"breach {breach.reference}: assess it first (`dataright breach assess`)")
    if rule.individuals == "on_or_after_authority" and breach.notifiable and breach.authority_notified_at is None:
        raise Conflict(
            f"breach {breach.reference}: under {rule.individuals_reference} the people concerned are told on or "
            "after the authority is notified; record the authority notification first"
        )
    if not recipients:
        raise ValidationFailed("recipients: nobody to notify")
    missing = sorted({r.language for r in recipients} - set(messages))
    if missing:
        raise ValidationFailed(f"messages: no text in {', '.join(missing)} for recipients who read that language")
    queued = 0
    known = set(
        session.scalars(select(BreachSubjectNotice.recipient_hash).where(BreachSubjectNotice.breach_id == breach.id))
    )
    occurred = breach.occurred_at.astimezone(ZoneInfo(breach.timezone)).isoformat(timespec="minutes")
    for recipient in recipients:
        digest = mail.recipient_hash(recipient.email)
        if digest in known:
            continue
        text = messages[recipient.language]
        outbox_id = mail.enqueue(
            session,
            controller_id=breach.controller_id,
            to=recipient.email,
            template="breach_notification",
            language=recipient.language,
            context={
                "controller_name": controller_name,
                "breach_reference": breach.reference,
                "occurred_on": occurred,
                "description": text.description,
                "likely_consequences": text.likely_consequences,
                "measures": text.measures,
                "advice": text.advice,
                "contact": text.contact,
            },
            dedupe_key=f"breach:{breach.id}:{digest}",
            actor=actor,
        )
        session.add(
            BreachSubjectNotice(
                breach_id=breach.id, recipient_hash=digest, language=recipient.language, outbox_id=outbox_id
            )
        )
        if disclosure is not None:
            disclosure(session, breach=breach, recipient_hash=digest, outbox_id=outbox_id)
        known.add(digest)
        queued += 1
    if queued:
        if breach.individuals_notified_at is None:
            breach.individuals_notified_at = utcnow()
        breach.revision += 1
        _record(session, breach, "breach.individuals_notified", actor, ["individuals_notified_at"], queued=queued)
    return queued


def list_breaches(session: Session, *, controller_id: str | None = None, status: str | None = None) -> list[Breach]:
    query = select(Breach).order_by(Breach.aware_at.desc(), Breach.reference)
    if controller_id is not None:
        query = query.where(Breach.controller_id == controller_id)
    if status is not None:
        if status not in {s.value for s in BreachStatus}:
            raise ValidationFailed(f"status: {status!r}; one of {', '.join(s.value for s in BreachStatus)}")
        query = query.where(Breach.status == status)
    return list(session.scalars(query))


def revisions(session: Session, breach_id: uuid.UUID) -> list[BreachRevision]:
    return list(
        session.scalars(
            select(BreachRevision).where(BreachRevision.breach_id == breach_id).order_by(BreachRevision.revision)
        )
    )


WATCHED_CLOCK_STATES = (clocks.ClockState.running, clocks.ClockState.due_soon, clocks.ClockState.overdue)


def clock_counts(session: Session, *, now: datetime | None = None) -> dict[tuple[str, str, str], int]:
    """(controller, clock, state) -> breaches not closed whose clock is running, due within 24 hours or
    overdue (the metrics an alert on a legal deadline is built on)."""
    moment = now or utcnow()
    counts: dict[tuple[str, str, str], int] = {}
    for breach in session.scalars(select(Breach).where(Breach.status != BreachStatus.closed.value)):
        for clock, state in view(session, breach, now=moment).states.items():
            if state in WATCHED_CLOCK_STATES:
                key = (breach.controller_id, clock, state.value)
                counts[key] = counts.get(key, 0) + 1
    return counts


# ------------------------------------------------------------------------------------------------
# the daily reminder
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClockWarning:
    breach_reference: str
    controller_id: str
    clock: clocks.Clock
    due: datetime
    """In the controller's time zone."""
    state: clocks.ClockState


WARNED = frozenset({clocks.ClockState.due_soon, clocks.ClockState.overdue})


def clock_warnings(
    session: Session, *, controller_id: str, within: timedelta, now: datetime | None = None
) -> list[ClockWarning]:
    """The controller's breach clocks overdue, due within 24 hours, or running and due within ``within``;
    soonest first."""
    moment = now or utcnow()
    found: list[ClockWarning] = []
    for breach in list_breaches(session, controller_id=controller_id):
        if breach.status == BreachStatus.closed.value:
            continue
        shown = view(session, breach, now=moment)
        for deadline in shown.deadlines:
            state = shown.states[deadline.clock.value]
            if deadline.due is None:
                continue
            near = state is clocks.ClockState.running and deadline.due - moment <= within
            if state in WARNED or near:
                due = deadline.due.astimezone(ZoneInfo(breach.timezone))
                found.append(ClockWarning(breach.reference, breach.controller_id, deadline.clock, due, state))
    return sorted(found, key=lambda w: (w.due, w.breach_reference))


def reminder_address(controller: Controller) -> str | None:
    """Where breach reminders go: the data protection officer, else the controller's contact address."""
    for contact in (controller.dpo, controller.contact):
        if contact is not None and contact.email:
            return str(contact.email)
    return None


def remind(
    session: Session, *, declaration: Declaration, controller_id: str, within: timedelta, now: datetime | None = None
) -> list[ClockWarning]:
    """Enqueue today's breach reminder (once a day: the outbox dedupes) to the controller's privacy contact,
    listing the clocks near or past due; the warnings."""
    moment = now or utcnow()
    warnings = clock_warnings(session, controller_id=controller_id, within=within, now=moment)
    controller = declaration.controller_by_id[controller_id]
    to = reminder_address(controller)
    if not warnings or to is None:
        return warnings
    day = moment.astimezone(controller.zone).date()
    mail.enqueue(
        session,
        controller_id=controller_id,
        to=to,
        template="breach_reminder",
        language=str(controller.languages[0]) if controller.languages[0] in ("en", "nb", "sv") else "en",
        context={
            "controller_name": controller.name,
            "clocks": [
                {
                    "breach_reference": w.breach_reference,
                    "clock": w.clock.value,
                    "due": w.due.isoformat(timespec="minutes"),
                    "state": w.state.value,
                }
                for w in warnings
            ],
        },
        dedupe_key=f"breach-reminder:{controller_id}:{day.isoformat()}",
        actor="system",
    )
    append(
        session,
        actor="system",
        action="breach.reminder_sent",
        entity_type="controller",
        entity_id=controller_id,
        controller_id=controller_id,
        details={"clocks": len(warnings), "overdue": sum(w.state is clocks.ClockState.overdue for w in warnings)},
    )
    return warnings
