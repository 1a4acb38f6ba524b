"""Filing a request and proving who asks: the public door, a guardian's, and staff's on a person's behalf.

``file_request`` accepts only the types the controller's ``rights`` block offers, routes a group's account
deletion to the company where the account is, makes every controller of a joint arrangement a party (a
second filing of the same request anywhere in the arrangement joins the first: the clock started there),
computes the deadlines and sends a verification challenge. Its answer never depends on whether the person
is known: a subject is looked for only once the requester has proved they hold the identifier.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.declarations.schema import Declaration
from dataright.errors import NotFound, ValidationFailed
from dataright.identity import service as identity
from dataright.identity.crypto import encrypt, keyed_hash
from dataright.identity.normalise import IdentifierKind, normalise
from dataright.requests import corrections, notify, timing
from dataright.requests.lifecycle import OPEN, Channel, FiledBy, RequestType, Status
from dataright.requests.models import RequestParty, RightsRequest, VerificationChallenge
from dataright.requests.verification import (
    CHALLENGE_TTL,
    MAX_ATTEMPTS,
    MAX_CHALLENGES,
    SmsSender,
    code_hash,
    code_matches,
    link_hash,
    new_code,
    new_link_token,
)
from dataright.storage.types import utcnow

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CONTACT_KINDS = (IdentifierKind.email, IdentifierKind.phone)
DETAILS_KIND = "details"
"""The associated data's kind for the free text a person wrote with a request (see ``service.details_of``)."""


@dataclass(frozen=True)
class Filing:
    """What a request says, parsed at the door (API or CLI) and passed whole."""

    controller_id: str
    type: str
    identifier_kind: str
    identifier: str
    channel: Channel = Channel.web
    filed_by: FiledBy = FiledBy.subject
    actor: str = "public"
    language: str | None = None
    details: str | None = None
    on_behalf_of: tuple[str, str] | None = None
    """For a guardian: the child's identifier (kind, value)."""
    registered_with: str | None = None
    """For an account deletion in a group: the company where the account was registered."""
    corrections: Mapping[str, str] | None = None
    """For a rectification: ``table.field`` -> the corrected value (kept encrypted, see ``corrections``)."""


class Outcome(StrEnum):
    verified = "verified"
    wrong = "wrong"
    expired = "expired"
    locked = "locked"
    used = "used"


def new_reference() -> str:
    return "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))


def request_type(declaration: Declaration, controller_id: str, value: str) -> RequestType:
    """The type, if it is one and the controller offers it; ``ValidationFailed`` naming what it offers otherwise."""
    offered = [t for t in RequestType if t.right in declaration.rights_of(controller_id).rights]
    names = ", ".join(t.value for t in offered)
    try:
        parsed = RequestType(value)
    except ValueError:
        raise ValidationFailed(f"type: unknown request type {value!r}; {controller_id} accepts: {names}") from None
    if parsed not in offered:
        raise ValidationFailed(f"type: {controller_id} does not offer the right {value!r}; it accepts: {names}")
    return parsed


def _language(declaration: Declaration, controller_id: str, wanted: str | None) -> str:
    languages = declaration.controller_by_id[controller_id].languages
    if wanted is None:
        return languages[0]
    if wanted not in languages:
        raise ValidationFailed(f"language: {controller_id} answers in {', '.join(languages)}, not {wanted!r}")
    return wanted


def _group_of(declaration: Declaration, controller_id: str) -> tuple[str, ...]:
    for group in declaration.groups:
        if controller_id in group.members:
            return group.members
    return (controller_id,)


def _answering_controller(
    session: Session, declaration: Declaration, filing: Filing, kind: str, digest: str, kind_type: RequestType
) -> str:
    """Where the request is answered: a group's account deletion goes to the company holding the account."""
    filed = filing.controller_id
    group = _group_of(declaration, filed)
    if filing.registered_with is not None:
        if filing.registered_with not in group:
            raise ValidationFailed(
                f"registered_with: {filing.registered_with!r} is not a company of {filed}'s group ({', '.join(group)})"
            )
        return filing.registered_with
    if kind_type is not RequestType.erasure or len(group) == 1:
        return filed
    if identity.find_subject_by_hash(session, controller_id=filed, kind=kind, digest=digest) is not None:
        return filed
    holders = [
        member
        for member in group
        if member != filed
        and identity.find_subject_by_hash(session, controller_id=member, kind=kind, digest=digest) is not None
    ]
    return holders[0] if len(holders) == 1 else filed


def _parties(declaration: Declaration, controller_id: str) -> dict[str, str | None]:
    """The answering controller and every controller sharing a joint arrangement with it (-> arrangement id)."""
    parties: dict[str, str | None] = {controller_id: None}
    for arrangement in declaration.joint_arrangements:
        if controller_id in arrangement.controllers:
            for other in arrangement.controllers:
                parties.setdefault(other, arrangement.id)
    return parties


def _open_duplicate(
    session: Session, controllers: list[str], kind: str, digest: str, request_kind: RequestType
) -> RightsRequest | None:
    return session.execute(
        select(RightsRequest)
        .where(
            RightsRequest.controller_id.in_(controllers),
            RightsRequest.identifier_kind == kind,
            RightsRequest.identifier_hash == digest,
            RightsRequest.type == request_kind.value,
            RightsRequest.status.in_([s.value for s in OPEN]),
        )
        .order_by(RightsRequest.received_at)
        .limit(1)
    ).scalar_one_or_none()


def file_request(
    session: Session,
    *,
    declaration: Declaration,
    filing: Filing,
    base_url: str,
    sms_sender: SmsSender | None,
    now: datetime | None = None,
) -> RightsRequest:
    """Record a request and send its verification challenge (or join the open one it repeats)."""
    now = now or utcnow()
    controller_id = filing.controller_id
    if controller_id not in declaration.controller_by_id:
        raise NotFound(f"no loaded declaration has a controller {controller_id!r}")
    kind_type = request_type(declaration, controller_id, filing.type)
    if filing.corrections and kind_type is not RequestType.rectification:
        raise ValidationFailed(f"corrections: only a rectification carries corrected values, not {kind_type.value}")
    sealed = corrections.seal(controller_id, filing.corrections) if filing.corrections else None
    region = declaration.controller_by_id[controller_id].country
    kind = _contact_kind(filing.identifier_kind, sms_sender)
    value = normalise(kind, filing.identifier, region=region)
    digest = keyed_hash(kind, value)
    on_behalf = _on_behalf(filing, region)
    language = _language(declaration, controller_id, filing.language)
    answering = _answering_controller(session, declaration, filing, kind, digest, kind_type)
    parties = _parties(declaration, answering)
    if len(parties) > 1:
        earlier = _open_duplicate(session, list(parties), kind, digest, kind_type)
        if earlier is not None:
            earlier.receipts += 1
            session.flush()
            audit(
                session,
                actor=filing.actor,
                action="request.received_again",
                entity_type="rights_request",
                entity_id=earlier.id,
                controller_id=controller_id,
                details={"reference": earlier.reference, "receipts": earlier.receipts, "channel": filing.channel},
            )
            return earlier
    dates = timing.deadlines_for(declaration, answering, now, kind_type.value)
    request = RightsRequest(
        id=uuid.uuid4(),
        reference=new_reference(),
        controller_id=answering,
        filed_with=controller_id,
        type=kind_type.value,
        status=Status.received.value,
        channel=filing.channel.value,
        filed_by=filing.filed_by.value,
        filed_by_actor=filing.actor,
        language=language,
        identifier_kind=kind,
        identifier_hash=digest,
        identifier_ciphertext=encrypt(controller_id, kind, value),
        details_ciphertext=encrypt(controller_id, DETAILS_KIND, filing.details) if filing.details else None,
        corrections_ciphertext=sealed,
        on_behalf_kind=on_behalf[0] if on_behalf else None,
        on_behalf_hash=on_behalf[1] if on_behalf else None,
        received_at=now,
        received_on=dates.received_on,
        statutory_due_on=dates.statutory,
        promised_due_on=dates.promised,
        due_on=dates.binding,
        receipts=1,
    )
    request.parties = [
        RequestParty(controller_id=c, role="answering" if c == answering else "joint", arrangement_id=a)
        for c, a in parties.items()
    ]
    session.add(request)
    session.flush()
    audit(
        session,
        actor=filing.actor,
        action="request.received",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=answering,
        details={
            "reference": request.reference,
            "type": request.type,
            "channel": request.channel,
            "filed_by": request.filed_by,
            "filed_with": controller_id,
            "parties": sorted(parties),
            "due_on": request.due_on.isoformat(),
            "corrections": len(filing.corrections or {}),
        },
    )
    send_challenge(session, declaration=declaration, request=request, base_url=base_url, sms_sender=sms_sender, now=now)
    return request


def _contact_kind(kind: str, sms_sender: SmsSender | None) -> str:
    if kind not in {k.value for k in CONTACT_KINDS}:
        raise ValidationFailed(
            f"identifier: {kind!r} cannot be verified; give an e-mail address (or a phone number) to reply to"
        )
    if kind == IdentifierKind.phone and sms_sender is None:
        raise ValidationFailed("phone: this server cannot send codes by SMS; give an e-mail address instead")
    return kind


def _on_behalf(filing: Filing, region: str) -> tuple[str, str] | None:
    if filing.filed_by is FiledBy.guardian:
        if filing.on_behalf_of is None:
            raise ValidationFailed("on_behalf_of: a guardian's request names the child (email, phone or customer_id)")
        kind, value = filing.on_behalf_of
        return kind, identity.hash_identifier(kind, value, region=region)
    if filing.on_behalf_of is not None:
        raise ValidationFailed("on_behalf_of: only a guardian's request (filed_by: guardian) acts for someone else")
    return None


# ------------------------------------------------------------------------------------------------
# challenges
# ------------------------------------------------------------------------------------------------
def send_challenge(
    session: Session,
    *,
    declaration: Declaration,
    request: RightsRequest,
    base_url: str,
    sms_sender: SmsSender | None,
    now: datetime | None = None,
) -> VerificationChallenge:
    """A fresh code (and, by e-mail, a magic link) for the requester; earlier challenges stop working."""
    now = now or utcnow()
    if Status(request.status) is not Status.received:
        raise NotFound(f"request {request.reference} is not waiting for verification")
    earlier = list(
        session.execute(select(VerificationChallenge).where(VerificationChallenge.request_id == request.id)).scalars()
    )
    if len(earlier) >= MAX_CHALLENGES:
        raise ValidationFailed(
            f"request {request.reference}: {MAX_CHALLENGES} codes were sent already; contact the controller"
        )
    for challenge in earlier:
        if challenge.used_at is None and challenge.locked_at is None:
            challenge.locked_at = now
    code, token = new_code(), new_link_token()
    by_sms = request.identifier_kind == IdentifierKind.phone
    challenge = VerificationChallenge(
        request_id=request.id,
        channel="sms" if by_sms else "email",
        code_hash=code_hash(request.id, code),
        link_hash=None if by_sms else link_hash(token),
        expires_at=now + CHALLENGE_TTL,
    )
    session.add(challenge)
    session.flush()
    if by_sms:
        assert sms_sender is not None
        name = notify.controller_name(declaration, request.controller_id)
        sms_sender.send(to=notify.recipient(request), text=f"{name}: your code for request {request.reference}: {code}")
    else:
        notify.verification(
            session,
            declaration,
            request,
            code=code,
            link=f"{base_url}/v/{token}",
            expires_on=timing.local_date(declaration, request.controller_id, challenge.expires_at),
            n=len(earlier) + 1,
        )
    audit(
        session,
        actor="system",
        action="request.challenge_sent",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={"reference": request.reference, "channel": challenge.channel, "number": len(earlier) + 1},
    )
    return challenge


def _latest_challenge(session: Session, request: RightsRequest) -> VerificationChallenge | None:
    return session.execute(
        select(VerificationChallenge)
        .where(VerificationChallenge.request_id == request.id)
        .order_by(VerificationChallenge.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_code(session: Session, *, request: RightsRequest, code: str, now: datetime | None = None) -> Outcome:
    """Try a code against the request's current challenge; the attempt counts whatever the outcome."""
    now = now or utcnow()
    challenge = _latest_challenge(session, request)
    if Status(request.status) is not Status.received or challenge is None or challenge.used_at is not None:
        return Outcome.used
    if challenge.locked_at is not None:
        return Outcome.locked
    if challenge.expires_at <= now:
        return Outcome.expired
    challenge.attempts += 1
    if code_matches(challenge.code_hash, request.id, code):
        challenge.used_at = now
        session.flush()
        return Outcome.verified
    if challenge.attempts >= MAX_ATTEMPTS:
        challenge.locked_at = now
        audit(
            session,
            actor="public",
            action="request.verification_locked",
            entity_type="rights_request",
            entity_id=request.id,
            controller_id=request.controller_id,
            details={"reference": request.reference, "attempts": challenge.attempts},
        )
    session.flush()
    return Outcome.wrong if challenge.locked_at is None else Outcome.locked


def attempts_left(session: Session, request: RightsRequest) -> int:
    challenge = _latest_challenge(session, request)
    return 0 if challenge is None else max(0, MAX_ATTEMPTS - challenge.attempts)


def request_of_link(session: Session, token: str) -> tuple[RightsRequest, VerificationChallenge]:
    """The request a magic link was sent for; ``NotFound`` for a link that was never sent."""
    challenge = session.execute(
        select(VerificationChallenge).where(VerificationChallenge.link_hash == link_hash(token))
    ).scalar_one_or_none()
    request = session.get(RightsRequest, challenge.request_id) if challenge is not None else None
    if challenge is None or request is None:
        raise NotFound("this verification link is not valid")
    return request, challenge


def check_link(
    session: Session, *, request: RightsRequest, challenge: VerificationChallenge, now: datetime | None = None
) -> Outcome:
    now = now or utcnow()
    if challenge.used_at is not None or Status(request.status) is not Status.received:
        return Outcome.used
    if challenge.locked_at is not None:
        return Outcome.locked
    if challenge.expires_at <= now:
        return Outcome.expired
    challenge.used_at = now
    session.flush()
    return Outcome.verified
