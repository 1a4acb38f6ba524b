"""Staff operations on requests: find, list, verify, assign, start, extend, deny, withdraw, complete, expire.

Every state change goes through ``_move``: the lifecycle says whether it is allowed (``IllegalTransition``
names what is), the change and its audit entry (who, why; ids only) land in the caller's transaction, and
the message to the person is written to the mail outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.config import Keys
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.schema import Declaration, Fee
from dataright.errors import Conflict, NotFound, ValidationFailed
from dataright.identity import service as identity
from dataright.identity.crypto import decrypt
from dataright.identity.normalise import normalise
from dataright.requests import corrections, fulfilment, intake, notify, timing
from dataright.requests.lifecycle import FEE_REASONS, OPEN, DenialReason, FiledBy, RequestType, Status, check_transition
from dataright.requests.models import RequestParty, RequestTask, RightsRequest
from dataright.requests.verification import VERIFY_WITHIN
from dataright.storage.types import utcnow

OVERDUE = "overdue"
OPEN_FILTER = "open"


# ------------------------------------------------------------------------------------------------
# finding
# ------------------------------------------------------------------------------------------------
def by_reference(session: Session, reference: str) -> RightsRequest:
    """A request by its public reference (for the requester's own routes)."""
    request = session.execute(
        select(RightsRequest).where(RightsRequest.reference == reference.strip().upper())
    ).scalar_one_or_none()
    if request is None:
        raise NotFound(f"no request with reference {reference!r}")
    return request


def find(session: Session, *, controller_id: str, ref: str) -> RightsRequest:
    """A request the controller is party to, by reference or id; ``NotFound`` for anyone else's."""
    try:
        request = session.get(RightsRequest, uuid.UUID(ref))
    except ValueError:
        request = session.execute(
            select(RightsRequest).where(RightsRequest.reference == ref.strip().upper())
        ).scalar_one_or_none()
    if request is None or controller_id not in request.controller_ids:
        raise NotFound(f"controller {controller_id!r} has no request {ref!r}")
    return request


def find_any(session: Session, ref: str) -> RightsRequest:
    """Any controller's request by reference or id (the command line sees every controller)."""
    try:
        request = session.get(RightsRequest, uuid.UUID(ref))
    except ValueError:
        request = session.execute(
            select(RightsRequest).where(RightsRequest.reference == ref.strip().upper())
        ).scalar_one_or_none()
    if request is None:
        raise NotFound(f"no request {ref!r}")
    return request


def _visible_to(controller_id: str) -> Select[RightsRequest]:
    parties = select(RequestParty.request_id).where(RequestParty.controller_id == controller_id)
    query: Select[RightsRequest] = select(RightsRequest).where(RightsRequest.id.in_(parties))
    return query


def list_requests(
    session: Session,
    *,
    controller_id: str | None,
    status: str | None = None,
    due_within: int | None = None,
    today: date | None = None,
) -> list[RightsRequest]:
    """The controller's requests, soonest deadline first. ``status``: a lifecycle state, ``open`` or ``overdue``
    (open and past its binding deadline); ``due_within``: open and due within that many days. Without a
    controller (the command line, which sees everything): every controller's."""
    today = today or utcnow().date()
    query = _visible_to(controller_id) if controller_id is not None else select(RightsRequest)
    open_values = [s.value for s in OPEN]
    if status == OVERDUE:
        query = query.where(RightsRequest.status.in_(open_values), RightsRequest.due_on < today)
    elif status == OPEN_FILTER:
        query = query.where(RightsRequest.status.in_(open_values))
    elif status is not None:
        try:
            query = query.where(RightsRequest.status == Status(status).value)
        except ValueError:
            known = ", ".join([*(s.value for s in Status), OPEN_FILTER, OVERDUE])
            raise ValidationFailed(f"status: unknown {status!r}; expected one of {known}") from None
    if due_within is not None:
        if due_within < 0:
            raise ValidationFailed("due_within: a number of days, 0 or more")
        query = query.where(
            RightsRequest.status.in_(open_values), RightsRequest.due_on <= today + timedelta(days=due_within)
        )
    return list(session.execute(query.order_by(RightsRequest.due_on, RightsRequest.received_at)).scalars())


def requests_of_subject(
    session: Session, *, controller_id: str, subject_id: uuid.UUID | None, hashes: Iterable[tuple[str, str]]
) -> list[RightsRequest]:
    """The controller's requests about a subject, or filed under one of its identifiers (kind, hash)."""
    conditions: list[ColumnElement[bool]] = [
        and_(RightsRequest.identifier_kind == kind, RightsRequest.identifier_hash == digest) for kind, digest in hashes
    ]
    if subject_id is not None:
        conditions.append(RightsRequest.subject_id == subject_id)
    if not conditions:
        return []
    query = _visible_to(controller_id).where(or_(*conditions)).order_by(RightsRequest.received_at)
    return list(session.execute(query).scalars())


POSTPONING = frozenset(
    {
        RequestType.access,
        RequestType.portability,
        RequestType.rectification,
        RequestType.restriction,
        RequestType.objection,
    }
)
"""Open requests of these kinds need the person's data as it is: a retention sweep leaves it until they close."""

IDENTITY_KIND = {"email": "email", "phone": "phone_number"}
"""The requests' identifier kinds as datasets name their identity fields."""


def open_request_identities(session: Session, *, controller_id: str, keys: Keys | None = None) -> list[dict[str, str]]:
    """The identities (dataset identity kind -> value) of the people with an open request the controller is
    party to, of a kind that needs their data kept until it closes (``POSTPONING``). Decrypted for the sweep
    to find their rows; never logged."""
    query = _visible_to(controller_id).where(
        RightsRequest.status.in_([s.value for s in OPEN]),
        RightsRequest.type.in_([t.value for t in POSTPONING]),
    )
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for request in session.execute(query.order_by(RightsRequest.received_at)).scalars():
        kind = IDENTITY_KIND.get(request.identifier_kind, request.identifier_kind)
        if (kind, request.identifier_hash) in seen:
            continue
        seen.add((kind, request.identifier_hash))
        value = decrypt(request.filed_with, request.identifier_kind, request.identifier_ciphertext, keys)
        out.append({kind: value})
    return out


# ------------------------------------------------------------------------------------------------
# transitions
# ------------------------------------------------------------------------------------------------
def _move(
    session: Session,
    request: RightsRequest,
    target: Status,
    *,
    actor: str,
    why: str | None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    current = Status(request.status)
    check_transition(request.reference, current, target)
    request.status = target.value
    if target not in OPEN:
        request.closed_at = now or utcnow()
    session.flush()
    audit(
        session,
        actor=actor,
        action=f"request.{target.value}",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={"reference": request.reference, "from": current.value, "why": why, **(details or {})},
    )


def mark_verified(
    session: Session,
    *,
    declaration: Declaration,
    request: RightsRequest,
    method: str,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> RightsRequest:
    """The requester proved who they are: find the person, check a guardian's link, acknowledge with the deadline.

    A guardian who is not (or no longer) linked to the child cannot act for them: the request is denied as
    not verified, and told so.
    """
    now = now or utcnow()
    check_transition(request.reference, Status(request.status), Status.verified)
    controller = request.controller_id
    requester = identity.find_subject_by_hash(
        session, controller_id=controller, kind=request.identifier_kind, digest=request.identifier_hash
    )
    if request.filed_by == FiledBy.guardian:
        child = (
            identity.find_subject_by_hash(
                session, controller_id=controller, kind=request.on_behalf_kind or "", digest=request.on_behalf_hash
            )
            if request.on_behalf_kind and request.on_behalf_hash
            else None
        )
        if requester is None or child is None or not identity.is_guardian_of(session, requester.id, child.id):
            request.verified_at, request.verification_method = now, method
            deny(
                session,
                declaration=declaration,
                request=request,
                reason=DenialReason.identity_not_verified,
                note="the requester proved their address but is not a verified guardian of the person named",
                actor=actor,
                now=now,
            )
            return request
        request.subject_id, request.guardian_subject_id = child.id, requester.id
    else:
        request.subject_id = requester.id if requester is not None else None
    request.verified_at, request.verification_method = now, method
    _move(
        session,
        request,
        Status.verified,
        actor=actor,
        why=reason or f"verified by {method}",
        details={"method": method, "subject_found": request.subject_id is not None},
        now=now,
    )
    notify.received(session, declaration, request)
    return request


def staff_verify(
    session: Session, *, declaration: Declaration, request: RightsRequest, reason: str, actor: str
) -> RightsRequest:
    """Staff vouch for the requester's identity (a call-back, a document seen); only with a written reason."""
    if len(reason.strip()) < 10:
        raise ValidationFailed("reason: staff verification needs a written reason (at least 10 characters)")
    return mark_verified(
        session, declaration=declaration, request=request, method="staff_check", actor=actor, reason=reason.strip()
    )


def assign(session: Session, *, request: RightsRequest, to: str, actor: str) -> RightsRequest:
    """Give the request to a staff member (their work e-mail address receives the daily reminder)."""
    if Status(request.status) not in OPEN:
        raise Conflict(f"request {request.reference} is {request.status}; only open requests are assigned")
    request.assigned_to = normalise("email", to)
    session.flush()
    audit(
        session,
        actor=actor,
        action="request.assigned",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={"reference": request.reference},
    )
    return request


def start(session: Session, *, declaration: Declaration, request: RightsRequest, actor: str) -> RightsRequest:
    """Begin the work: the fulfilment tasks of an erasure, rectification or restriction are created now."""
    _move(session, request, Status.in_progress, actor=actor, why="work started")
    created = fulfilment.create_tasks(session, declaration=declaration, request=request, actor=actor)
    if created:
        session.flush()
    return request


def set_corrections(
    session: Session, *, request: RightsRequest, values: Mapping[str, str], actor: str
) -> RightsRequest:
    """Record (or replace) the corrected values of an open rectification, encrypted; audited by count only."""
    if type_of(request) is not RequestType.rectification:
        raise ValidationFailed(f"corrections: request {request.reference} is {request.type}, not a rectification")
    if Status(request.status) not in OPEN:
        raise Conflict(f"request {request.reference} is {request.status}; corrections are given while it is open")
    request.corrections_ciphertext = corrections.seal(request.filed_with, values)
    session.flush()
    audit(
        session,
        actor=actor,
        action="request.corrections_set",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={"reference": request.reference, "fields": len(values)},
    )
    return request


def corrections_of(request: RightsRequest, keys: Keys | None = None) -> dict[str, str]:
    """A rectification's corrected values (empty when none were given)."""
    return corrections.unseal(request.filed_with, request.corrections_ciphertext, keys)


def details_of(request: RightsRequest, keys: Keys | None = None) -> str | None:
    """The free text the person wrote with the request, decrypted for staff (None when they wrote none).

    Personal data: shown to the controller's staff only, never logged or audited (the callers hold it)."""
    if request.details_ciphertext is None:
        return None
    return decrypt(request.filed_with, intake.DETAILS_KIND, request.details_ciphertext, keys)


def extend(
    session: Session,
    *,
    declaration: Declaration,
    request: RightsRequest,
    reason: str,
    until: date | None,
    actor: str,
    today: date | None = None,
) -> RightsRequest:
    """Move the binding deadline once, before it passes, with a reason the person is told at once."""
    today = today or timing.local_date(declaration, request.controller_id, utcnow())
    if Status(request.status) not in OPEN:
        raise Conflict(f"request {request.reference} is {request.status}; only open requests are extended")
    if request.extended_at is not None:
        raise Conflict(f"request {request.reference} was extended already (to {request.due_on.isoformat()})")
    if today > request.due_on:
        raise Conflict(
            f"request {request.reference} was due on {request.due_on.isoformat()}; an extension must be "
            "notified before the deadline passes"
        )
    if not reason.strip():
        raise ValidationFailed("reason: an extension needs the reason the person is told")
    try:
        new_due = timing.extended_due(
            declaration, request.controller_id, request.received_at, request.type, notice_sent=today, until=until
        )
    except ValidationFailed as exc:
        raise ValidationFailed(f"until: {exc}") from None
    previous = request.due_on
    request.due_on, request.extended_at, request.extension_reason = new_due, utcnow(), reason.strip()
    session.flush()
    audit(
        session,
        actor=actor,
        action="request.extended",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={"reference": request.reference, "from": previous.isoformat(), "to": new_due.isoformat()},
    )
    notify.extended(session, declaration, request)
    return request


def authority_of(declaration: Declaration, controller_id: str, language: str) -> tuple[str, str]:
    """The supervisory authority the person may complain to: the controller's own, else its pack's."""
    controller = declaration.controller_by_id[controller_id]
    authority = controller.supervisory_authority or get_jurisdiction(controller.jurisdiction).authority
    names: dict[str, str] = {str(k): v for k, v in authority.name.items()}
    name = names.get(language) or names.get("en") or next(iter(names.values()))
    return name, authority.url or ""


def deny(
    session: Session,
    *,
    declaration: Declaration,
    request: RightsRequest,
    reason: DenialReason,
    note: str | None,
    actor: str,
    fee: str | None = None,
    now: datetime | None = None,
) -> RightsRequest:
    """Refuse the request with its reason, a fee only where the law and the controller allow one, and the
    authority the person may complain to. Under the PDPA a copy of what was asked for is kept 30 days."""
    now = now or utcnow()
    if fee:
        rule = declaration.rights_of(request.controller_id).fee
        if reason not in FEE_REASONS:
            raise ValidationFailed("fee: only a manifestly unfounded or excessive request may be charged a fee")
        if rule is Fee.free:
            raise ValidationFailed(f"fee: {request.controller_id} answers every request free of charge")
    _move(session, request, Status.denied, actor=actor, why=note or reason.value, details={"reason": reason.value})
    request.denial_reason, request.fee = reason.value, fee or None
    controller = declaration.controller_by_id[request.controller_id]
    keep_for = get_jurisdiction(controller.jurisdiction).refusal_copy_kept
    if keep_for is not None:
        kept = keep_for.after(timing.local_date(declaration, request.controller_id, now))
        request.copy_kept_until = kept
        fulfilment.keep_copy_after_refusal(session, declaration=declaration, request=request, until=kept, now=now)
    session.flush()
    name, url = authority_of(declaration, request.controller_id, request.language)
    notify.denied(session, declaration, request, reason=reason.value, note=note, authority_name=name, authority_url=url)
    return request


def withdraw(session: Session, *, request: RightsRequest, actor: str, reason: str | None = None) -> RightsRequest:
    _move(session, request, Status.withdrawn, actor=actor, why=reason or "withdrawn by the requester")
    return request


def complete(
    session: Session, *, declaration: Declaration, request: RightsRequest, actor: str, base_url: str
) -> RightsRequest:
    """Close the request as done: every task ticked off, the package delivered or the erasure carried out."""
    open_tasks = [t for t in request.tasks if t.status != "done"]
    if open_tasks:
        listed = ", ".join(f"#{t.id} {t.label}" for t in open_tasks)
        raise Conflict(f"request {request.reference} has {len(open_tasks)} open task(s): {listed}")
    check_transition(request.reference, Status(request.status), Status.completed)
    reply = fulfilment.carry_out(session, declaration=declaration, request=request, actor=actor, base_url=base_url)
    _move(
        session,
        request,
        Status.completed,
        actor=actor,
        why="completed",
        details={
            "tasks": len(request.tasks),
            "kept_items": len(reply.kept_items),
            "package": bool(reply.link),
            "ledger_events": reply.ledger_events,
        },
    )
    notify.completed(
        session,
        declaration,
        request,
        download_link=reply.link,
        link_expires_on=reply.link_expires_on,
        kept_items=reply.kept_items,
    )
    return request


def complete_task(
    session: Session, *, request: RightsRequest, task_id: int, controller_id: str, actor: str, note: str | None
) -> RightsRequest:
    """Tick off one task; a controller ticks off its own tasks only."""
    task = next((t for t in request.tasks if t.id == task_id), None)
    if task is None:
        raise NotFound(f"request {request.reference} has no task #{task_id}")
    if task.controller_id != controller_id:
        raise NotFound(f"task #{task_id} of request {request.reference} belongs to {task.controller_id}")
    if Status(request.status) is not Status.in_progress:
        raise Conflict(f"request {request.reference} is {request.status}; tasks are ticked off while in_progress")
    if task.status == "done":
        raise Conflict(f"task #{task_id} of request {request.reference} is done already")
    task.status, task.done_by, task.done_at, task.note = "done", actor, utcnow(), note
    session.flush()
    fulfilment.record_task_disclosure(session, request=request, task=task, actor=actor)
    audit(
        session,
        actor=actor,
        action="request.task_done",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=controller_id,
        details={"reference": request.reference, "task": task.id, "kind": task.kind, "target": task.target},
    )
    return request


# ------------------------------------------------------------------------------------------------
# sweeps: expiry and reminders
# ------------------------------------------------------------------------------------------------
def expire_unverified(
    session: Session,
    *,
    controller_ids: Iterable[str],
    declaration_of: Callable[[str], Declaration],
    now: datetime | None = None,
) -> int:
    """Expire requests whose requester never proved who they are within ``VERIFY_WITHIN``, telling each one
    (``request_expired``, in their language); the count. ``declaration_of`` gives a controller's declaration."""
    now = now or utcnow()
    stale = session.execute(
        select(RightsRequest).where(
            RightsRequest.controller_id.in_(list(controller_ids)),
            RightsRequest.status == Status.received.value,
            RightsRequest.received_at < now - VERIFY_WITHIN,
        )
    ).scalars()
    count = 0
    for request in stale:
        _move(
            session,
            request,
            Status.expired,
            actor="system",
            why=f"identity not verified within {VERIFY_WITHIN.days} days",
            now=now,
        )
        notify.expired(session, declaration_of(request.controller_id), request)
        count += 1
    return count


@dataclass(frozen=True)
class Reminder:
    controller_id: str
    assignee: str
    requests: list[RightsRequest]


def due_for_reminder(session: Session, *, controller_id: str, within: int, today: date) -> list[Reminder]:
    """Open, assigned requests due within ``within`` days (or overdue), grouped by the staff member."""
    by_assignee: dict[str, list[RightsRequest]] = {}
    for request in list_requests(session, controller_id=controller_id, due_within=within, today=today):
        if request.assigned_to and request.controller_id == controller_id:
            by_assignee.setdefault(request.assigned_to, []).append(request)
    return [Reminder(controller_id, who, items) for who, items in sorted(by_assignee.items())]


def remind(session: Session, *, declaration: Declaration, controller_id: str, within: int, today: date) -> int:
    """Enqueue today's reminder to each assigned staff member (once a day: the outbox dedupes); the count."""
    reminders = due_for_reminder(session, controller_id=controller_id, within=within, today=today)
    language = declaration.controller_by_id[controller_id].languages[0]
    for reminder in reminders:
        notify.reminder(
            session,
            controller_id=controller_id,
            controller=notify.controller_name(declaration, controller_id),
            to=reminder.assignee,
            language=language,
            due=[
                {
                    "request_reference": r.reference,
                    "deadline": r.due_on.isoformat(),
                    "status": OVERDUE if r.due_on < today else r.status,
                }
                for r in reminder.requests
            ],
            day=today,
        )
    if reminders:
        audit(
            session,
            actor="system",
            action="request.reminders_sent",
            entity_type="controller",
            entity_id=controller_id,
            controller_id=controller_id,
            details={"staff": len(reminders), "requests": sum(len(r.requests) for r in reminders)},
        )
    return len(reminders)


def type_of(request: RightsRequest) -> RequestType:
    return RequestType(request.type)


# ------------------------------------------------------------------------------------------------
# for the jobs that run fulfilment, and for the metrics
# ------------------------------------------------------------------------------------------------
ENGINE_TYPES = frozenset({RequestType.erasure, RequestType.rectification, RequestType.restriction})
"""Request types the connector engine carries out by itself (a rectification once it has the corrected values:
given with the request, or by staff afterwards; without them its datastore tasks wait for staff)."""


def _awaiting_engine_filter() -> list[ColumnElement[bool]]:
    open_task = select(RequestTask.request_id).where(
        RequestTask.kind == fulfilment.DATASTORE, RequestTask.status == "open"
    )
    return [
        RightsRequest.status == Status.in_progress.value,
        RightsRequest.type.in_([t.value for t in ENGINE_TYPES]),
        RightsRequest.filed_by != FiledBy.guardian.value,
        or_(RightsRequest.type != RequestType.rectification.value, RightsRequest.corrections_ciphertext.is_not(None)),
        RightsRequest.id.in_(open_task),
    ]


def awaiting_engine(session: Session, *, limit: int = 200) -> list[uuid.UUID]:
    """Requests in progress whose type the engine carries out and that have an open datastore task (a
    guardian's request is left to staff: the identity on file is the guardian's, not the child's)."""
    query = select(RightsRequest.id).where(*_awaiting_engine_filter()).order_by(RightsRequest.due_on).limit(limit)
    return list(session.scalars(query))


def awaits_engine(session: Session, request: RightsRequest) -> bool:
    """Whether the engine has work to do for this request now (see ``awaiting_engine``)."""
    session.flush()
    found = session.scalar(select(RightsRequest.id).where(RightsRequest.id == request.id, *_awaiting_engine_filter()))
    return found is not None


def note_waiting(
    session: Session, *, request: RightsRequest, controller_id: str, dataset: str, note: str, actor: str
) -> int:
    """Mark the open datastore tasks of ``dataset`` as waiting on it (the note staff and the API show); how many."""
    return _note_open_datastore_tasks(
        session, request, controller_id, note, actor, action="request.task_waiting", dataset=dataset
    )


def note_tasks(session: Session, *, request: RightsRequest, controller_id: str, note: str, actor: str) -> int:
    """Note why the engine could not do the controller's open datastore tasks (staff act on them); how many.
    The note names fields and datasets, never a value."""
    return _note_open_datastore_tasks(session, request, controller_id, note, actor, action="request.task_noted")


def _note_open_datastore_tasks(
    session: Session,
    request: RightsRequest,
    controller_id: str,
    note: str,
    actor: str,
    *,
    action: str,
    dataset: str | None = None,
) -> int:
    """Set ``note`` on the controller's open datastore tasks (of ``dataset`` only, when given) that do not carry
    it yet, and audit how many."""
    marked = 0
    for task in request.tasks:
        if (
            task.kind == fulfilment.DATASTORE
            and task.status == "open"
            and task.controller_id == controller_id
            and (dataset is None or (task.target == dataset and task.note != note))
        ):
            task.note = note
            marked += 1
    if marked:
        session.flush()
        details: dict[str, object] = {"reference": request.reference, "tasks": marked}
        if dataset is not None:
            details["dataset"] = dataset
        audit(
            session,
            actor=actor,
            action=action,
            entity_type="rights_request",
            entity_id=request.id,
            controller_id=controller_id,
            details=details,
        )
    return marked


def overdue_counts(session: Session, *, today: date) -> dict[str, int]:
    """Open requests past their binding deadline, by answering controller."""
    rows = session.execute(
        select(RightsRequest.controller_id, func.count())
        .where(RightsRequest.status.in_([s.value for s in OPEN]), RightsRequest.due_on < today)
        .group_by(RightsRequest.controller_id)
    )
    return {controller: int(n) for controller, n in rows}
