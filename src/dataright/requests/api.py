"""The requests API.

Public (no key; each address may call a limited number of times a minute): ``POST /api/v1/requests`` files
a request, ``POST /api/v1/requests/{reference}/verify`` tries the one-time code, ``.../resend`` sends a new
one, ``GET /api/v1/requests/{reference}/package?token=...`` downloads an access package. The answer to a
filing is the same whether or not the controller knows the person.

Staff (``requests:read`` / ``requests:write`` keys for the controller in the ``controller`` query parameter):
list, show, file on a person's behalf, verify with a reason, assign, start, extend, deny, withdraw,
complete, tick off tasks, and look a subject up by identifiers sent in the body.

The disclosure log (``disclosures:read``): ``GET /api/v1/disclosures`` lists what was disclosed, to whom and
when, newest first; people appear as keyed hashes only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from dataright.access.service import actor_of
from dataright.audit.service import append as audit
from dataright.consent import service as consent
from dataright.consent.schemas import EventOut, PreferenceOut
from dataright.declarations.registry import DeclarationRegistry
from dataright.declarations.schema import Declaration
from dataright.errors import DataRightError, NotFound, RateLimited, ValidationFailed
from dataright.identity import service as identity
from dataright.requests import delivery, disclosures, intake, service
from dataright.requests.intake import Filing, Outcome
from dataright.requests.lifecycle import FiledBy
from dataright.requests.models import RequestPackage, RightsRequest
from dataright.requests.schemas import (
    AssignIn,
    CodeIn,
    CorrectionsIn,
    DenyIn,
    DetailsOut,
    DisclosureListOut,
    DisclosureOut,
    ExtendIn,
    IdentifiersIn,
    LookupOut,
    ReasonIn,
    ReceiptOut,
    RequestIn,
    RequestListOut,
    RequestOut,
    StaffRequestIn,
    TaskDoneIn,
    VerifiedOut,
    WithdrawIn,
)
from dataright.requests.verification import SmsSender
from dataright.storage.types import utcnow
from dataright.web.dependencies import (
    AppSettings,
    DisclosuresQueryReader,
    ReadSession,
    Registry,
    RequestsQueryReader,
    RequestsQueryWriter,
    StartWork,
    WindowLimiter,
    Writer,
    client_address,
    problems,
)
from dataright.web.idempotency import IdempotentWrite, IdempotentWriter

router = APIRouter(tags=["requests"])

PUBLIC_CALLS_PER_MINUTE = 10
public_limiter = WindowLimiter(PUBLIC_CALLS_PER_MINUTE)
RECEIPT_MESSAGE = (
    "Thank you. If the address is yours you will receive a code to confirm that you made this request; "
    "we start once it is confirmed."
)


class VerificationFailed(DataRightError):
    title = "Verification failed"
    status = 422


class VerificationExpired(DataRightError):
    title = "Code or link expired"
    status = 410


class VerificationLocked(DataRightError):
    title = "Too many wrong codes"
    status = 423


class VerificationUsed(DataRightError):
    title = "Code or link already used"
    status = 409


def _limit(request: Request) -> None:
    if not public_limiter.allow(client_address(request)):
        raise RateLimited(f"at most {PUBLIC_CALLS_PER_MINUTE} calls a minute from one address; try again later")


def _sms_sender(request: Request) -> SmsSender | None:
    sender = getattr(request.app.state, "sms_sender", None)
    return sender if isinstance(sender, SmsSender) else None


def _declaration(registry: DeclarationRegistry, controller_id: str) -> Declaration:
    return registry.controller(controller_id).declaration


# ------------------------------------------------------------------------------------------------
# public
# ------------------------------------------------------------------------------------------------
@router.post("/api/v1/requests", response_model=ReceiptOut, status_code=202, responses=problems(404, 429))
async def file_request(
    request: Request, body: RequestIn, writer: IdempotentWrite, registry: Registry, settings: AppSettings
) -> ReceiptOut:
    """File a rights request (access, rectification, erasure, restriction, portability, objection,
    withdraw_consent) with a controller; a guardian names the child in ``on_behalf_of``.

    A code and a link go to the address given; nothing is done until one of them comes back. The answer is
    the same whether or not the controller knows the person.
    """
    _limit(request)
    kind, value = body.contact()
    filing = Filing(
        controller_id=body.controller,
        type=body.type,
        identifier_kind=kind,
        identifier=value,
        filed_by=FiledBy.guardian if body.on_behalf_of is not None else FiledBy.subject,
        language=body.language,
        details=body.details,
        corrections=body.corrections,
        on_behalf_of=body.on_behalf_of.one("on_behalf_of") if body.on_behalf_of is not None else None,
        registered_with=body.registered_with,
    )
    declaration = _declaration(registry, body.controller)
    sms = _sms_sender(request)

    def work(session: Session) -> ReceiptOut:
        filed = intake.file_request(
            session, declaration=declaration, filing=filing, base_url=settings.base_url, sms_sender=sms
        )
        return ReceiptOut(reference=filed.reference, status="received", message=RECEIPT_MESSAGE)

    return await writer(work)


@dataclass(frozen=True)
class Attempt:
    answer: VerifiedOut
    outcome: Outcome
    left: int
    language: str


def try_verification(
    session: Session, registry: DeclarationRegistry, reference: str, attempt: str, *, link: bool
) -> Attempt:
    """Try a code or link in the caller's transaction; whatever the outcome the attempt is recorded, so the
    caller commits and reports a failure afterwards (``problem_for``)."""
    if link:
        found, challenge = intake.request_of_link(session, attempt)
        outcome = intake.check_link(session, request=found, challenge=challenge)
        method = "email_link"
    else:
        found = service.by_reference(session, reference)
        outcome = intake.check_code(session, request=found, code=attempt)
        method = "sms_code" if found.identifier_kind == "phone" else "email_code"
    if outcome is Outcome.verified:
        service.mark_verified(
            session,
            declaration=_declaration(registry, found.controller_id),
            request=found,
            method=method,
            actor="requester",
        )
    answer = VerifiedOut(reference=found.reference, status=found.status, outcome=outcome.value)
    return Attempt(answer, outcome, intake.attempts_left(session, found), found.language)


def problem_for(attempt: Attempt) -> DataRightError | None:
    """The error a failed attempt is answered with (after its transaction commits); None when it succeeded."""
    reference, left = attempt.answer.reference, attempt.left
    if attempt.outcome is Outcome.wrong:
        return VerificationFailed(f"code: not the code sent for request {reference}; {left} attempt(s) left")
    if attempt.outcome is Outcome.expired:
        return VerificationExpired(f"request {reference}: the code has expired; ask for a new one (.../resend)")
    if attempt.outcome is Outcome.locked:
        return VerificationLocked(
            f"request {reference}: this code no longer works (too many wrong tries, or a newer code was sent); "
            "ask for a new one (.../resend)"
        )
    if attempt.outcome is Outcome.used:
        return VerificationUsed(f"request {reference}: already confirmed, or no longer waiting for confirmation")
    return None


@router.post(
    "/api/v1/requests/{reference}/verify",
    response_model=VerifiedOut,
    responses=problems(404, 409, 410, 422, 423, 429),
)
async def verify_code(
    request: Request, reference: str, body: CodeIn, writer: IdempotentWrite, registry: Registry
) -> VerifiedOut:
    """Confirm a request with the code that was sent (five tries; the code works for 24 hours, once).

    The attempt is recorded whatever its outcome (a wrong code counts), then a failure is answered with its
    problem. (A retry under the same ``Idempotency-Key`` gets the recorded attempt back, ``outcome`` in it.)
    """
    _limit(request)
    attempts: list[Attempt] = []

    def work(session: Session) -> VerifiedOut:
        attempts.append(try_verification(session, registry, reference, body.code, link=False))
        return attempts[-1].answer  # what a retry under the same Idempotency-Key gets back

    answer = await writer(work)
    error = problem_for(attempts[-1])
    if error is not None:
        raise error
    return answer


@router.post(
    "/api/v1/requests/{reference}/resend", response_model=ReceiptOut, status_code=202, responses=problems(404, 429)
)
async def resend_code(
    request: Request, reference: str, writer: IdempotentWrite, registry: Registry, settings: AppSettings
) -> ReceiptOut:
    """Send a new code (the earlier ones stop working); at most three per request."""
    _limit(request)
    sms = _sms_sender(request)

    def work(session: Session) -> ReceiptOut:
        found = service.by_reference(session, reference)
        intake.send_challenge(
            session,
            declaration=_declaration(registry, found.controller_id),
            request=found,
            base_url=settings.base_url,
            sms_sender=sms,
        )
        return ReceiptOut(reference=found.reference, status=found.status, message=RECEIPT_MESSAGE)

    return await writer(work)


@router.get("/api/v1/requests/{reference}/package", responses=problems(404, 429))
async def download_package(
    request: Request,
    reference: str,
    token: Annotated[str, Query(max_length=1000, description="The signed token from the e-mail.")],
    writer: Writer,
) -> Response:
    """Download the package answering an access or portability request, with the link's signed token."""
    _limit(request)
    invalid = "this download link is not valid for this request or has expired"

    def work(session: Session) -> tuple[str, bytes]:
        now = utcnow()
        try:
            found = service.by_reference(session, reference)
        except NotFound:
            raise delivery.InvalidDownloadLink(invalid) from None
        grant = delivery.read_download(token, request_id=found.id, now=now)
        package = session.get(RequestPackage, grant.package_id)
        if package is None or package.request_id != found.id or package.purpose != "delivery":
            raise delivery.InvalidDownloadLink(invalid)
        if package.expires_at <= now:
            raise delivery.InvalidDownloadLink(invalid)
        data = delivery.decrypt_package(found.id, package.id, package.ciphertext)
        package.downloads += 1
        session.flush()
        audit(
            session,
            actor="requester",
            action="request.package_downloaded",
            entity_type="rights_request",
            entity_id=found.id,
            controller_id=found.controller_id,
            details={"reference": found.reference, "package": str(package.id), "downloads": package.downloads},
        )
        return package.filename, data

    filename, data = await writer(work)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# ------------------------------------------------------------------------------------------------
# staff
# ------------------------------------------------------------------------------------------------
def _out(request: RightsRequest) -> RequestOut:
    return RequestOut.of(request)


@router.get("/api/v1/requests", response_model=RequestListOut)
def list_requests(
    controller: str,
    key: RequestsQueryReader,
    session: ReadSession,
    status: Annotated[str | None, Query(max_length=20, description="A state, 'open' or 'overdue'.")] = None,
    due_within: Annotated[int | None, Query(ge=0, le=3660, description="Open and due within N days.")] = None,
) -> RequestListOut:
    """The controller's requests (those of joint arrangements it is party to included), soonest due first."""
    found = service.list_requests(session, controller_id=controller, status=status, due_within=due_within)
    return RequestListOut(requests=[_out(r) for r in found])


@router.post("/api/v1/staff/requests", response_model=RequestOut, status_code=201, responses=problems(404))
async def file_on_behalf(
    request: Request,
    controller: str,
    body: StaffRequestIn,
    key: RequestsQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
    settings: AppSettings,
) -> RequestOut:
    """Take down a request a person made by phone, letter or e-mail. With ``verified_reason`` staff vouch for
    the person's identity at once (audited); otherwise a code goes to the person as with a web request."""
    if body.controller is not None and body.controller != controller:
        raise ValidationFailed(f"controller: the body names {body.controller!r}, the query {controller!r}")
    kind, value = body.contact()
    declaration = _declaration(registry, controller)
    filing = Filing(
        controller_id=controller,
        type=body.type,
        identifier_kind=kind,
        identifier=value,
        channel=body.channel,
        filed_by=FiledBy.guardian if body.on_behalf_of is not None else FiledBy.staff,
        actor=actor_of(key),
        language=body.language,
        details=body.details,
        corrections=body.corrections,
        on_behalf_of=body.on_behalf_of.one("on_behalf_of") if body.on_behalf_of is not None else None,
        registered_with=body.registered_with,
    )
    sms = _sms_sender(request)

    def work(session: Session) -> RequestOut:
        filed = intake.file_request(
            session, declaration=declaration, filing=filing, base_url=settings.base_url, sms_sender=sms
        )
        if body.verified_reason:
            service.staff_verify(
                session, declaration=declaration, request=filed, reason=body.verified_reason, actor=actor_of(key)
            )
        return _out(filed)

    return await writer(work)


@router.get("/api/v1/requests/{ref}", response_model=RequestOut)
def show_request(ref: str, controller: str, key: RequestsQueryReader, session: ReadSession) -> RequestOut:
    """One request, by reference or id, with its deadlines and tasks."""
    return _out(service.find(session, controller_id=controller, ref=ref))


@router.get("/api/v1/requests/{ref}/corrections", response_model=CorrectionsIn)
def show_corrections(ref: str, controller: str, key: RequestsQueryReader, session: ReadSession) -> CorrectionsIn:
    """A rectification's corrected values, for staff to check before they start it (starting it has the engine
    write them); 404 while none were given."""
    found = service.find(session, controller_id=controller, ref=ref)
    values = service.corrections_of(found)
    if not values:
        raise NotFound(f"request {found.reference} has no corrected values")
    return CorrectionsIn(corrections=values)


@router.get("/api/v1/requests/{ref}/details", response_model=DetailsOut, responses=problems(404))
def show_details(ref: str, controller: str, key: RequestsQueryReader, session: ReadSession) -> DetailsOut:
    """What the person wrote about the request in their own words (``details`` when filing), decrypted for the
    controller's staff; 404 when they wrote nothing (``has_details`` on the request says which). Kept apart
    from the request itself so lists, lookups and the answers of write routes (which idempotency keys store)
    never carry it."""
    found = service.find(session, controller_id=controller, ref=ref)
    details = service.details_of(found)
    if details is None:
        raise NotFound(f"request {found.reference} has no details written by the person")
    return DetailsOut(reference=found.reference, details=details)


Action = Callable[[Session, RightsRequest, Declaration], object]


async def _act(
    writer: IdempotentWriter, registry: DeclarationRegistry, controller: str, ref: str, action: Action
) -> RequestOut:
    """Find the controller's request and do ``action`` to it in one write transaction; the request after it."""

    def work(session: Session) -> RequestOut:
        found = service.find(session, controller_id=controller, ref=ref)
        action(session, found, _declaration(registry, found.controller_id))
        return _out(found)

    return await writer(work)


@router.post("/api/v1/requests/{ref}/verify-identity", response_model=RequestOut)
async def staff_verify(
    ref: str, controller: str, body: ReasonIn, key: RequestsQueryWriter, writer: IdempotentWrite, registry: Registry
) -> RequestOut:
    """Staff vouch for the requester's identity, with a written reason (audited)."""
    return await _act(
        writer,
        registry,
        controller,
        ref,
        lambda s, r, d: service.staff_verify(s, declaration=d, request=r, reason=body.reason, actor=actor_of(key)),
    )


@router.post("/api/v1/requests/{ref}/assign", response_model=RequestOut)
async def assign(
    ref: str, controller: str, body: AssignIn, key: RequestsQueryWriter, writer: IdempotentWrite, registry: Registry
) -> RequestOut:
    """Give the request to a staff member; they get the daily reminder of what is due."""
    return await _act(
        writer, registry, controller, ref, lambda s, r, d: service.assign(s, request=r, to=body.to, actor=actor_of(key))
    )


@router.post("/api/v1/requests/{ref}/start", response_model=RequestOut)
async def start(
    ref: str,
    controller: str,
    key: RequestsQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
    start_work: StartWork,
) -> RequestOut:
    """Begin work on a verified request; an erasure, rectification or restriction gets its tasks, and the
    engine's job for the datastores it can change is queued in the same transaction (it starts at once)."""

    def begin(session: Session, request: RightsRequest, declaration: Declaration) -> None:
        service.start(session, declaration=declaration, request=request, actor=actor_of(key))
        start_work(session, request, actor=actor_of(key))

    return await _act(writer, registry, controller, ref, begin)


@router.put("/api/v1/requests/{ref}/corrections", response_model=RequestOut)
async def set_corrections(
    ref: str,
    controller: str,
    body: CorrectionsIn,
    key: RequestsQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
    start_work: StartWork,
) -> RequestOut:
    """Give (or replace) the corrected values of an open rectification, when the person gave them in words or
    by phone; kept encrypted, audited by count. A request already in progress has the engine's job queued."""

    def correct(session: Session, request: RightsRequest, declaration: Declaration) -> None:
        service.set_corrections(session, request=request, values=body.corrections, actor=actor_of(key))
        start_work(session, request, actor=actor_of(key))

    return await _act(writer, registry, controller, ref, correct)


@router.post("/api/v1/requests/{ref}/extend", response_model=RequestOut)
async def extend(
    ref: str, controller: str, body: ExtendIn, key: RequestsQueryWriter, writer: IdempotentWrite, registry: Registry
) -> RequestOut:
    """Extend the deadline once, before it passes; the person is told the new date and the reason at once."""
    return await _act(
        writer,
        registry,
        controller,
        ref,
        lambda s, r, d: service.extend(
            s, declaration=d, request=r, reason=body.reason, until=body.until, actor=actor_of(key)
        ),
    )


@router.post("/api/v1/requests/{ref}/deny", response_model=RequestOut)
async def deny(
    ref: str, controller: str, body: DenyIn, key: RequestsQueryWriter, writer: IdempotentWrite, registry: Registry
) -> RequestOut:
    """Refuse the request with a reason; the person is told it and the authority they may complain to."""
    return await _act(
        writer,
        registry,
        controller,
        ref,
        lambda s, r, d: service.deny(
            s, declaration=d, request=r, reason=body.reason, note=body.note, fee=body.fee, actor=actor_of(key)
        ),
    )


@router.post("/api/v1/requests/{ref}/withdraw", response_model=RequestOut)
async def withdraw(
    ref: str, controller: str, body: WithdrawIn, key: RequestsQueryWriter, writer: IdempotentWrite, registry: Registry
) -> RequestOut:
    """Record that the person withdrew the request."""
    return await _act(
        writer,
        registry,
        controller,
        ref,
        lambda s, r, d: service.withdraw(s, request=r, actor=actor_of(key), reason=body.reason),
    )


@router.post("/api/v1/requests/{ref}/tasks/{task_id}/done", response_model=RequestOut)
async def task_done(
    ref: str,
    task_id: int,
    controller: str,
    body: TaskDoneIn,
    key: RequestsQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
) -> RequestOut:
    """Tick off one of the controller's fulfilment tasks."""
    return await _act(
        writer,
        registry,
        controller,
        ref,
        lambda s, r, d: service.complete_task(
            s, request=r, task_id=task_id, controller_id=controller, actor=actor_of(key), note=body.note
        ),
    )


@router.post("/api/v1/requests/{ref}/complete", response_model=RequestOut)
async def complete(
    ref: str,
    controller: str,
    key: RequestsQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
    settings: AppSettings,
) -> RequestOut:
    """Close the request once every task is done: the package link or the erasure reply goes to the person."""
    return await _act(
        writer,
        registry,
        controller,
        ref,
        lambda s, r, d: service.complete(s, declaration=d, request=r, actor=actor_of(key), base_url=settings.base_url),
    )


@router.post("/api/v1/subjects/lookup", response_model=LookupOut)
async def lookup(
    controller: str, body: IdentifiersIn, key: RequestsQueryReader, writer: IdempotentWrite, registry: Registry
) -> LookupOut:
    """Find a person by e-mail, phone or customer id (in the body, never the URL): their requests, consent
    history and communication preferences."""

    def work(session: Session) -> LookupOut:
        identifiers = body.identifiers()
        if not identifiers:
            raise ValidationFailed("give at least one of email, phone, customer_id")
        declaration = _declaration(registry, controller)
        region = declaration.controller_by_id[controller].country
        hashes = [(kind, identity.hash_identifier(kind, value, region=region)) for kind, value in identifiers.items()]
        subject = None
        for kind, digest in hashes:
            subject = identity.find_subject_by_hash(session, controller_id=controller, kind=kind, digest=digest)
            if subject is not None:
                break
        requests = service.requests_of_subject(
            session, controller_id=controller, subject_id=subject.id if subject else None, hashes=hashes
        )
        events: list[EventOut] = []
        preferences: list[PreferenceOut] = []
        if subject is not None:
            events = [EventOut.of(e) for e in consent.history(session, controller_id=controller, subject_id=subject.id)]
            preferences = [
                PreferenceOut(
                    topic=p.topic_id,
                    channel=p.channel,
                    allowed=p.decision.allowed,
                    basis=p.decision.basis,
                    reason=p.decision.reason.value,
                    event_id=p.decision.event_id,
                    changeable=p.changeable,
                )
                for p in consent.preferences(
                    session, declaration=declaration, controller_id=controller, subject_id=subject.id
                )
            ]
        return LookupOut(
            subject_id=subject.id if subject else None,
            requests=[_out(r) for r in requests],
            consents=events,
            preferences=preferences,
        )

    return await writer(work)


@router.get("/api/v1/disclosures", response_model=DisclosureListOut)
def list_disclosures(
    controller: str,
    key: DisclosuresQueryReader,
    session: ReadSession,
    kind: Annotated[str | None, Query(max_length=40, description="Only this kind (breach_notice, ...).")] = None,
    recipient: Annotated[str | None, Query(max_length=200, description="Only to this recipient.")] = None,
    reference: Annotated[str | None, Query(max_length=80, description="Only for this request or breach.")] = None,
    since: Annotated[datetime | None, Query(description="Disclosed at or after (ISO 8601 with offset).")] = None,
    until: Annotated[datetime | None, Query(description="Disclosed at or before (ISO 8601 with offset).")] = None,
    limit: Annotated[int, Query(ge=1, le=disclosures.MAX_LIST)] = 1_000,
) -> DisclosureListOut:
    """The controller's disclosure log, newest first: kind, recipient, purpose, counts, time, and the person as a
    keyed hash only."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name}: give the UTC offset (e.g. 2026-12-01T00:00+00:00)")
    found = disclosures.list_disclosures(
        session,
        controller_id=controller,
        kind=kind,
        recipient=recipient,
        reference=reference,
        start=since,
        end=until,
        limit=limit,
    )
    return DisclosureListOut(disclosures=[DisclosureOut.of(d) for d in found])
