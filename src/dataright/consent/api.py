"""The consent API: check, record, history, preferences, cookie banners and device linking.

Every route but the cookie banner's acts for the controller named in the ``controller`` query parameter
(``web.dependencies``) with a ``consent:read`` or ``consent:write`` key. ``POST /api/v1/cookie-consent``
is public: a banner runs in a visitor's browser, where no secret can be kept; it records choices of an
anonymous device only (never of a subject), and each client address may call it a limited number of times
a minute. A ``Sec-GPC: 1`` header on any request carrying a choice or a check is honoured; only a request that
records (the banner's, or one with a ``consent:write`` key) records it as an opt-out: a check never writes.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dataright.access.keycache import VerifiedKey
from dataright.access.scopes import CONSENT_READ
from dataright.bounds import MAX_ID
from dataright.consent import service
from dataright.consent.check import AsyncConsentChecker, ConsentChecker, decided_by_state_alone
from dataright.consent.dnc import DncRegistry
from dataright.consent.rules import Decision, rules_for
from dataright.consent.schemas import (
    KEY_PATTERN,
    BatchIn,
    BatchOut,
    CheckQuery,
    CookieConsentIn,
    CookieConsentOut,
    DecisionOut,
    EventIn,
    EventOut,
    HistoryOut,
    ItemProblem,
    LinkDeviceIn,
    PreferenceOut,
    PreferencesIn,
    PreferencesOut,
    ProofIn,
    SubjectRef,
    UnsubscribeLinkOut,
)
from dataright.consent.targets import Holder, Target
from dataright.declarations.registry import DeclarationRegistry
from dataright.declarations.schema import Channel, Declaration
from dataright.errors import DataRightError, NotFound, Problem, RateLimited, ValidationFailed
from dataright.identity import service as identity
from dataright.storage.engine import run_in_transaction
from dataright.web.dependencies import (
    ConsentQueryReader,
    ConsentQueryWriter,
    ReadSession,
    Registry,
    WindowLimiter,
    cached_key_for,
    client_address,
    fast_lane_route,
    problems,
)
from dataright.web.idempotency import IdempotentWrite

router = APIRouter(tags=["consent"])

COOKIE_CONSENT_PER_MINUTE = 120
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="The event's id.")]


cookie_consent_limiter = WindowLimiter(COOKIE_CONSENT_PER_MINUTE)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def gpc(request: Request) -> bool:
    """The Global Privacy Control signal: ``Sec-GPC: 1``."""
    return request.headers.get("sec-gpc", "").strip() == "1"


def actor_of(key: VerifiedKey) -> str:
    return f"api-key:{key.id}"


def proof_of(request: Request, proof: ProofIn | None) -> service.Proof:
    """The proof from the body, with the client's address and user agent (kept only if the settings say so)."""
    return service.Proof(
        text=proof.text if proof else None,
        text_hash=proof.text_hash if proof else None,
        language=proof.language if proof else None,
        ip_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def dnc_registry(request: Request) -> DncRegistry | None:
    """The Do Not Call registry the application was given (``app.state.dnc_registry``), if any."""
    registry = getattr(request.app.state, "dnc_registry", None)
    return registry if isinstance(registry, DncRegistry) else None


def declaration_of(registry: DeclarationRegistry, controller: str) -> Declaration:
    return registry.controller(controller).declaration


def _subject_id(
    session: Session, controller: str, declaration: Declaration, ref: SubjectRef, *, create: bool
) -> uuid.UUID:
    if ref.subject_id is not None:
        return identity.subject_of(session, controller, ref.subject_id).id
    identifiers = ref.identifiers()
    if not identifiers:
        raise ValidationFailed("subject: give subject_id or at least one of email, phone, customer_id")
    region = declaration.controller_by_id[controller].country
    if create:
        subject = identity.get_or_create_subject(
            session, controller_id=controller, identifiers=identifiers, birth_date=ref.birth_date, region=region
        )
        return subject.id
    for kind, value in identifiers.items():
        found = identity.find_subject(session, controller_id=controller, kind=kind, value=value, region=region)
        if found is not None:
            return found.id
    raise NotFound(f"no subject of controller {controller!r} has these identifiers")


def _decide(
    request: Request,
    session: Session,
    declaration: Declaration,
    controller: str,
    target: Target,
    *,
    subject_id: uuid.UUID | None,
    device: str | None,
    identifier: tuple[str, str] | None,
) -> Decision:
    """One check, reading only; a subject or device the ledger has never seen gets what the legal basis alone
    says. A GPC signal is honoured in the answer and not recorded."""
    if sum(x is not None for x in (subject_id, device, identifier)) != 1:
        raise ValidationFailed("give exactly one of subject_id, device_id or an identifier (email, phone, customer_id)")
    signal = gpc(request)
    device_id: uuid.UUID | None = None
    if device is not None:
        found = identity.find_device(session, controller, device)
        device_id = found.id if found is not None else None
    elif identifier is not None:
        region = declaration.controller_by_id[controller].country
        subject = identity.find_subject(
            session, controller_id=controller, kind=identifier[0], value=identifier[1], region=region
        )
        subject_id = subject.id if subject is not None else None
    if subject_id is None and device_id is None:
        return service.check_unknown(declaration=declaration, controller_id=controller, target=target, gpc=signal)
    return service.check(
        session,
        declaration=declaration,
        controller_id=controller,
        target=target,
        subject_id=subject_id,
        device_id=device_id,
        gpc=signal,
        dnc=dnc_registry(request),
    )


# ------------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------------
async def check(
    request: Request, controller: str, key: ConsentQueryReader, query: Annotated[CheckQuery, Query()]
) -> DecisionOut:
    """May this purpose, cookie category or topic × channel be used for this subject or device now?

    Give exactly one of ``purpose``, ``cookie`` or ``topic`` (with ``channel``), and one of ``subject_id`` or
    ``device_id``. The answer says whether it is allowed, on which legal basis, why, and which event decided
    it. A child below the consent age with no linked guardian is refused (``guardian_required``) for every
    purpose the declaration marks ``guardian_consent``. A subject or device never seen gets what the legal basis
    alone allows. To look people up by e-mail,
    phone or customer id use ``POST /api/v1/consent/check/batch``: identifiers do not belong in URLs.

    A ``Sec-GPC: 1`` header is honoured in the answer (no sale, sharing or targeted advertising) but not
    recorded: a check never changes anything. Record the opt-out through the cookie banner's route or with a
    ``consent:write`` key.
    """
    # ``async`` on purpose: a subject's check decided by the consent state alone is answered on the event loop
    # (``_from_state``). A device, which must be looked up, and SMS / voice marketing, which asks the Do Not Call
    # registry, go to a worker thread and a read-only session (so does PostgreSQL when the app was not started:
    # no lifespan, no pool). The usual request does not even get here: ``_check_fast_lane`` answers it first.
    declaration = declaration_of(request.app.state.registry, controller)
    target = query.target()
    subject_id, device_id = query.subject_id, query.device_id
    if subject_id is not None and device_id is None:
        decision = await _from_state(request, declaration, controller, target, subject_id)
        if decision is not None:
            return DecisionOut.of(target, decision)
    decision = await run_in_threadpool(
        _decide_in_own_session, request, declaration, controller, target, subject_id, device_id
    )
    return DecisionOut.of(target, decision)


async def _from_state(
    request: Request, declaration: Declaration, controller: str, target: Target, subject_id: uuid.UUID
) -> Decision | None:
    """A subject's decision from the consent state alone (one prepared primary-key lookup, no session), when
    that is the service's answer (``decided_by_state_alone``); None when the service must answer. On SQLite by
    the app's ``ConsentChecker``, inline (far cheaper than the hop to a worker thread a plain route costs); on
    PostgreSQL by its ``AsyncConsentChecker``, awaited on the event loop with a connection of its own pool,
    borrowed for the lookup alone."""
    rules = rules_for(declaration, controller)
    if not decided_by_state_alone(rules.rule(target)):
        return None
    holder = Holder.subject(subject_id)
    fast: AsyncConsentChecker | None = request.app.state.async_checker
    if fast is not None:
        return await fast.check(rules, holder, target, gpc=gpc(request))
    if request.app.state.settings.is_sqlite:
        checker: ConsentChecker = request.app.state.consent_checker
        return checker.check(rules, holder, target, gpc=gpc(request))
    return None


_FAST_LANE_PARAMS = frozenset({"controller", "subject_id", "purpose", "cookie", "topic", "channel"})


async def _check_fast_lane(request: Request) -> Response | None:
    """The usual check, answered without FastAPI's per-request machinery (which cost more than the check):
    a cached ``consent:read`` key for the one controller named, a subject by id, a declared target decided by
    the consent state alone, each parameter given once. The query is validated by ``CheckQuery`` itself and
    the answer serialised by ``DecisionOut``, as the declared route does. Anything else (no key or one not
    cached yet, a device, a parameter repeated, empty or unknown, a value ``CheckQuery`` refuses, a target
    not declared) returns None and is answered by the route as declared, errors included."""
    items = request.query_params.multi_items()  # every name=value pair (a MultiDict's keys are unique)
    params = dict(items)
    if len(params) != len(items) or not _FAST_LANE_PARAMS.issuperset(params):
        return None  # a name given twice: the declared route reads all of them (every controller is checked)
    controller, subject_id = params.get("controller"), params.get("subject_id")
    if not controller or not subject_id or not all(params.values()):
        return None
    if cached_key_for(request, CONSENT_READ, controller) is None:
        return None
    try:
        query = CheckQuery.model_validate({k: v for k, v in params.items() if k != "controller"})
        declaration = declaration_of(request.app.state.registry, controller)
        target = query.target()
        rules_for(declaration, controller).rule(target)
    except (PydanticValidationError, DataRightError):
        return None
    if query.subject_id is None:
        return None
    decision = await _from_state(request, declaration, controller, target, query.subject_id)
    if decision is None:
        return None
    return Response(DecisionOut.of(target, decision).model_dump_json(), media_type="application/json")


router.add_api_route(
    "/api/v1/consent/check",
    check,
    methods=["GET"],
    response_model=DecisionOut,
    route_class_override=fast_lane_route(_check_fast_lane),
)


def _decide_in_own_session(
    request: Request,
    declaration: Declaration,
    controller: str,
    target: Target,
    subject_id: uuid.UUID | None,
    device_id: str | None,
) -> Decision:
    """``_decide`` in a read-only transaction of its own."""

    def work(session: Session) -> Decision:
        return _decide(
            request, session, declaration, controller, target, subject_id=subject_id, device=device_id, identifier=None
        )

    return run_in_transaction(request.app.state.session_factory, work, write=False)


@router.post("/api/v1/consent/check/batch", response_model=BatchOut)
async def check_batch(
    request: Request,
    controller: str,
    body: BatchIn,
    key: ConsentQueryReader,
    writer: IdempotentWrite,
    registry: Registry,
) -> BatchOut:
    """Many checks in one call, answered in order; items may name the subject by e-mail, phone or customer id.

    An item that cannot be answered (a purpose not declared, an address that is not one) gets its own
    ``problem`` in its place; the other items are answered. Like the single check, it honours a
    ``Sec-GPC: 1`` header in its answers and records nothing.
    """
    declaration = declaration_of(registry, controller)

    def work(session: Session) -> BatchOut:
        results: list[DecisionOut | ItemProblem] = []
        for index, item in enumerate(body.items):
            try:
                with session.begin_nested():
                    target = item.target()
                    decision = _decide(
                        request,
                        session,
                        declaration,
                        controller,
                        target,
                        subject_id=item.subject_id,
                        device=item.device_id,
                        identifier=item.identifier(),
                    )
            except DataRightError as error:
                if error.status >= 500:
                    raise
                results.append(ItemProblem(problem=Problem.of(error, f"{request.url.path}#/items/{index}")))
                continue
            results.append(DecisionOut.of(target, decision))
        return BatchOut(results=results)

    return await writer(work)


# ------------------------------------------------------------------------------------------------
# recording and history
# ------------------------------------------------------------------------------------------------
def _links_from_event(subject_path: str, event_path: str | None) -> dict[str, Any]:
    """OpenAPI links from an answer naming an event and its subject to the routes that read them."""
    controller = "$request.query.controller"
    subject = {"subject_id": f"$response.body#{subject_path}", "controller": controller}
    links: dict[str, Any] = {
        "SubjectHistory": {"operationId": "consentHistory", "parameters": subject},
        "SubjectPreferences": {"operationId": "getPreferences", "parameters": subject},
        "ChangePreferences": {"operationId": "putPreferences", "parameters": subject},
    }
    if event_path is not None:
        links["Event"] = {
            "operationId": "getConsentEvent",
            "parameters": {"event_id": f"$response.body#{event_path}", "controller": controller},
        }
    return links


@router.post(
    "/api/v1/consent/events",
    response_model=EventOut,
    status_code=201,
    responses={201: {"description": "The event as recorded", "links": _links_from_event("/subject_id", "/id")}},
)
async def record_event(
    request: Request,
    controller: str,
    body: EventIn,
    key: ConsentQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
) -> EventOut:
    """Record a consent event (given, withdrawn, refused, objected ...) and return it with its receipt.

    A ``given`` the rules refuse (a child below the consent age, a guardian who is not linked) is recorded
    as ``refused`` with the reason; read ``kind`` and ``reason`` in the answer.
    """
    declaration = declaration_of(registry, controller)
    target = body.target()
    if (body.subject is None) == (body.device_id is None):
        raise ValidationFailed("give exactly one of subject and device_id")
    proof = proof_of(request, body.proof)
    signal = gpc(request)

    def work(session: Session) -> EventOut:
        subject_id = device_id = None
        if body.subject is not None:
            subject_id = _subject_id(session, controller, declaration, body.subject, create=True)
        else:
            assert body.device_id is not None
            device_id = identity.get_or_create_device(session, controller, body.device_id, actor=actor_of(key)).id
        guardian_id = (
            _subject_id(session, controller, declaration, body.guardian, create=False) if body.guardian else None
        )
        event = service.record(
            session,
            declaration=declaration,
            controller_id=controller,
            target=target,
            kind=body.kind,
            method=body.method,
            actor=actor_of(key),
            subject_id=subject_id,
            device_id=device_id,
            notice_version=body.notice_version,
            occurred_at=body.occurred_at,
            source=body.source,
            proof=proof,
            guardian_id=guardian_id,
            import_key=body.import_key,
            gpc=signal,
        )
        return EventOut.of(event)

    return await writer(work)


@router.get("/api/v1/consent/events/{event_id}", response_model=EventOut, operation_id="getConsentEvent")
def get_event(event_id: EventId, controller: str, key: ConsentQueryReader, session: ReadSession) -> EventOut:
    """One event with its receipt."""
    return EventOut.of(service.get_event(session, controller_id=controller, event_id=event_id))


@router.get(
    "/api/v1/consent/subjects/{subject_id}/history",
    response_model=HistoryOut,
    operation_id="consentHistory",
    responses={200: {"description": "The events", "links": _links_from_event("/subject_id", None)}},
)
def history(subject_id: uuid.UUID, controller: str, key: ConsentQueryReader, session: ReadSession) -> HistoryOut:
    """Every consent event of the subject, in the order they happened, each with its receipt."""
    events = service.history(session, controller_id=controller, subject_id=subject_id)
    return HistoryOut(subject_id=subject_id, events=[EventOut.of(e) for e in events])


# ------------------------------------------------------------------------------------------------
# preferences and unsubscribe links
# ------------------------------------------------------------------------------------------------
def _preferences(session: Session, declaration: Declaration, controller: str, subject_id: uuid.UUID) -> PreferencesOut:
    rows = service.preferences(session, declaration=declaration, controller_id=controller, subject_id=subject_id)
    return PreferencesOut(
        subject_id=subject_id,
        preferences=[
            PreferenceOut(
                topic=p.topic_id,
                channel=p.channel,
                allowed=p.decision.allowed,
                basis=p.decision.basis,
                reason=p.decision.reason.value,
                event_id=p.decision.event_id,
                changeable=p.changeable,
            )
            for p in rows
        ],
    )


@router.get(
    "/api/v1/consent/subjects/{subject_id}/preferences", response_model=PreferencesOut, operation_id="getPreferences"
)
def get_preferences(
    subject_id: uuid.UUID, controller: str, key: ConsentQueryReader, session: ReadSession, registry: Registry
) -> PreferencesOut:
    """Every communication topic × channel with what applies to the subject now."""
    return _preferences(session, declaration_of(registry, controller), controller, subject_id)


@router.put(
    "/api/v1/consent/subjects/{subject_id}/preferences",
    response_model=PreferencesOut,
    operation_id="putPreferences",
    responses={200: {"description": "The preferences now", "links": _links_from_event("/subject_id", None)}},
)
async def put_preferences(
    request: Request,
    subject_id: uuid.UUID,
    controller: str,
    body: PreferencesIn,
    key: ConsentQueryWriter,
    writer: IdempotentWrite,
    registry: Registry,
) -> PreferencesOut:
    """Switch topics × channels on or off; only changes are recorded (as consent, withdrawal or objection)."""
    declaration = declaration_of(registry, controller)
    proof, signal = proof_of(request, body.proof), gpc(request)

    def work(session: Session) -> PreferencesOut:
        service.set_preferences(
            session,
            declaration=declaration,
            controller_id=controller,
            subject_id=subject_id,
            choices={Target.topic(c.topic, c.channel): c.enabled for c in body.choices},
            method=body.method,
            actor=actor_of(key),
            proof=proof,
            gpc=signal,
        )
        return _preferences(session, declaration, controller, subject_id)

    return await writer(work)


@router.get("/api/v1/consent/subjects/{subject_id}/unsubscribe-link", response_model=UnsubscribeLinkOut)
def unsubscribe_link(
    subject_id: uuid.UUID,
    controller: str,
    topic: Annotated[str, Query(pattern=KEY_PATTERN, max_length=80, description="The topic the message is about.")],
    channel: Channel,
    key: ConsentQueryReader,
    session: ReadSession,
    registry: Registry,
    language: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
            max_length=16,
            description="The message's language (one of the controller's): the unsubscribe page speaks it. "
            "Without it, the page follows the person's browser language.",
        ),
    ] = None,
) -> UnsubscribeLinkOut:
    """The one-click unsubscribe URL and the ``List-Unsubscribe`` / ``-Post`` headers (RFC 8058) for a message.

    The link is opaque: it does not show whom it unsubscribes."""
    identity.subject_of(session, controller, subject_id)
    headers = service.unsubscribe_link_headers(
        declaration=declaration_of(registry, controller),
        controller_id=controller,
        subject_id=subject_id,
        topic_id=topic,
        channel=channel,
        language=language,
    )
    url = headers["List-Unsubscribe"].split(",")[0].strip("<> ")
    return UnsubscribeLinkOut(url=url, headers=headers)


# ------------------------------------------------------------------------------------------------
# cookie banners and devices
# ------------------------------------------------------------------------------------------------
@router.post("/api/v1/cookie-consent", response_model=CookieConsentOut, status_code=201, responses=problems(404, 429))
async def cookie_consent(
    request: Request, body: CookieConsentIn, writer: IdempotentWrite, registry: Registry
) -> CookieConsentOut:
    """A cookie banner's answer for an anonymous device (public: the banner cannot hold a key).

    Records each category accepted or not and each purpose those cookies serve; ``Sec-GPC: 1`` (or
    ``gpc: true``, from ``navigator.globalPrivacyControl``) opts the device out of targeting whatever was ticked.
    Each event's receipt carries the banner's revision, language, the categories accepted and rejected, and the
    time. Link the device to a subject on login with
    ``POST /api/v1/consent/devices/link``.
    """
    if not cookie_consent_limiter.allow(client_address(request)):
        raise RateLimited(f"at most {COOKIE_CONSENT_PER_MINUTE} cookie choices a minute from one address")
    declaration = declaration_of(registry, body.controller)
    proof, signal = proof_of(request, body.proof), gpc(request) or body.gpc
    if body.language and not proof.language:
        proof = replace(proof, language=body.language)

    def work(session: Session) -> CookieConsentOut:
        events = service.record_cookie_consent(
            session,
            declaration=declaration,
            controller_id=body.controller,
            device_token=body.device_id,
            accepted=[c.value for c in body.accepted],
            actor="cookie-banner",
            notice_version=body.notice_version,
            gpc=signal,
            proof=proof,
            banner_revision=body.banner_revision,
        )
        return CookieConsentOut(device_id=body.device_id, events=[EventOut.of(e) for e in events])

    return await writer(work)


@router.post("/api/v1/consent/devices/link", response_model=list[EventOut])
async def link_device(
    controller: str, body: LinkDeviceIn, key: ConsentQueryWriter, writer: IdempotentWrite, registry: Registry
) -> list[EventOut]:
    """On login: tie the banner's device to the subject; its choices are recorded as the subject's own."""
    declaration = declaration_of(registry, controller)

    def work(session: Session) -> list[EventOut]:
        events = service.link_device_to_subject(
            session,
            declaration=declaration,
            controller_id=controller,
            device_token=body.device_id,
            subject_id=body.subject_id,
            actor=actor_of(key),
        )
        return [EventOut.of(e) for e in events]

    return await writer(work)
