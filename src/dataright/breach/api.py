"""Breach routes, per controller: open, list, show, assess, record the authority notification, fetch its
document, notify the people concerned. ``breach:read`` reads, ``breach:write`` changes."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from dataright.access.keycache import VerifiedKey
from dataright.access.scopes import BREACH_READ, BREACH_WRITE
from dataright.access.service import ensure_controller
from dataright.breach import service
from dataright.breach.documents import authority_notification
from dataright.breach.schemas import (
    AssessmentIn,
    BreachIn,
    BreachOut,
    DeadlineOut,
    QueuedOut,
    SubjectNoticesIn,
    SubmissionIn,
)
from dataright.requests import disclosures
from dataright.web.dependencies import ReadSession, Registry, require_scope
from dataright.web.idempotency import IdempotentWrite

router = APIRouter(tags=["breach"])
BreachReader = Annotated[VerifiedKey, Depends(require_scope(BREACH_READ))]
BreachWriter = Annotated[VerifiedKey, Depends(require_scope(BREACH_WRITE))]
BASE = "/api/v1/controllers/{controller_id}/breaches"


def _out(view: service.BreachView) -> BreachOut:
    b = view.breach
    return BreachOut(
        id=b.id,
        reference=b.reference,
        controller_id=b.controller_id,
        jurisdiction=b.jurisdiction,
        timezone=b.timezone,
        status=b.status,
        occurred_at=b.occurred_at,
        aware_at=b.aware_at,
        systems=list(b.systems),
        categories=list(b.categories),
        affected_people=b.affected_people,
        affected_people_estimated=b.affected_people_estimated,
        affected_records=b.affected_records,
        notifiable=b.notifiable,
        notifiable_because=list(b.notifiable_because),
        individuals_required=b.individuals_required,
        authority_notified_at=b.authority_notified_at,
        individuals_notified_at=b.individuals_notified_at,
        linked=[reference for _cid, reference in view.linked],
        deadlines=[
            DeadlineOut(
                clock=d.clock.value,
                due=d.due,
                state=view.states[d.clock.value].value,
                reference=d.reference,
                rule=d.rule,
            )
            for d in view.deadlines
        ],
    )


@router.post(BASE, response_model=list[BreachOut], status_code=201)
async def open_breach(
    controller_id: str, body: BreachIn, key: BreachWriter, writer: IdempotentWrite, registry: Registry
) -> list[BreachOut]:
    """Record an incident; a system other controllers use opens a linked record for each (the key must act for them)."""
    declaration = registry.controller(controller_id).declaration
    for other in service.controllers_of_systems(declaration, body.systems):
        ensure_controller(key, other)
    draft = service.IncidentDraft(
        occurred_at=body.occurred_at,
        aware_at=body.aware_at,
        description=body.description,
        systems=tuple(body.systems),
        categories=tuple(body.categories),
        affected_people=body.affected_people,
        affected_people_estimated=body.affected_people_estimated,
        affected_records=body.affected_records,
        affected_records_estimated=body.affected_records_estimated,
        likely_consequences=body.likely_consequences,
        measures=body.measures,
        contact=body.contact,
    )

    def work(session: Session) -> list[BreachOut]:
        opened = service.open_incident(session, declaration, controller_id, draft, actor=f"key:{key.id}")
        return [_out(service.view(session, b)) for b in opened]

    return await writer(work)


@router.get(BASE, response_model=list[BreachOut])
def list_breaches(
    controller_id: str,
    key: BreachReader,
    session: ReadSession,
    status: Annotated[str | None, Query(description="open, assessed, notified or closed")] = None,
) -> list[BreachOut]:
    """Every breach of the controller, newest awareness first, with its clocks."""
    return [
        _out(service.view(session, b))
        for b in service.list_breaches(session, controller_id=controller_id, status=status)
    ]


@router.get(BASE + "/{breach_id}", response_model=BreachOut)
def show_breach(controller_id: str, breach_id: uuid.UUID, key: BreachReader, session: ReadSession) -> BreachOut:
    return _out(service.view(session, service.get_breach(session, breach_id, controller_id=controller_id)))


@router.post(BASE + "/{breach_id}/assessment", response_model=BreachOut)
async def assess_breach(
    controller_id: str, breach_id: uuid.UUID, body: AssessmentIn, key: BreachWriter, writer: IdempotentWrite
) -> BreachOut:
    assessment = service.Assessment(**body.model_dump())

    def work(session: Session) -> BreachOut:
        service.get_breach(session, breach_id, controller_id=controller_id)
        return _out(service.view(session, service.assess(session, breach_id, assessment, actor=f"key:{key.id}")))

    return await writer(work)


@router.post(BASE + "/{breach_id}/authority-submissions", response_model=BreachOut, status_code=201)
async def record_submission(
    controller_id: str, breach_id: uuid.UUID, body: SubmissionIn, key: BreachWriter, writer: IdempotentWrite
) -> BreachOut:
    """Record that the authority notification (or a follow-up phase) was sent."""

    def work(session: Session) -> BreachOut:
        breach = service.get_breach(session, breach_id, controller_id=controller_id)
        service.record_authority_notification(
            session,
            breach_id,
            sent_at=body.sent_at,
            actor=f"key:{key.id}",
            delay_reason=body.delay_reason,
            note=body.note,
        )
        return _out(service.view(session, breach))

    return await writer(work)


@router.get(BASE + "/{breach_id}/authority-notification", response_class=PlainTextResponse)
def authority_document(
    controller_id: str,
    breach_id: uuid.UUID,
    key: BreachReader,
    session: ReadSession,
    registry: Registry,
    format: Annotated[Literal["md", "html"], Query()] = "md",
) -> PlainTextResponse:
    """The notification to submit through the authority's portal, in its language."""
    breach = service.get_breach(session, breach_id, controller_id=controller_id)
    text = authority_notification(service.view(session, breach), registry.controller(controller_id).declaration, format)
    return PlainTextResponse(text, media_type="text/html" if format == "html" else "text/markdown")


@router.post(BASE + "/{breach_id}/subject-notices", response_model=QueuedOut, status_code=201)
async def notify_people(
    controller_id: str,
    breach_id: uuid.UUID,
    body: SubjectNoticesIn,
    key: BreachWriter,
    writer: IdempotentWrite,
    registry: Registry,
) -> QueuedOut:
    """Queue the message to each person concerned in their language (sent by `dataright mail send`)."""
    name = registry.controller(controller_id).controller.name

    def work(session: Session) -> QueuedOut:
        service.get_breach(session, breach_id, controller_id=controller_id)
        queued = service.notify_subjects(
            session,
            breach_id,
            recipients=[service.Recipient(r.email, r.language) for r in body.recipients],
            messages={lang: service.SubjectMessage(**m.model_dump()) for lang, m in body.messages.items()},
            controller_name=name,
            actor=f"key:{key.id}",
            disclosure=disclosures.breach_notice_recorder(f"key:{key.id}"),
        )
        return QueuedOut(queued=queued)

    return await writer(work)
