"""Withdrawal of consent and objection requests, written to the consent ledger when they complete.

Through the consent service, as ``withdrawn`` or ``objected`` events whose source is the request's reference
(``request:R-...``), so the ledger, the checks, the receipts and the audience exports all see them at once.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from dataright.consent import service as consent
from dataright.consent.rules import EventKind, Method, Reason, TargetRule, rules_for
from dataright.consent.targets import TargetKind
from dataright.declarations.schema import Declaration, LegalBasis
from dataright.identity import service as identity
from dataright.requests.lifecycle import Channel, FiledBy, RequestType
from dataright.requests.models import RightsRequest

STOPPED = frozenset(
    {
        Reason.consent_withdrawn,
        Reason.consent_refused,
        Reason.consent_expired,
        Reason.no_consent,
        Reason.objection,
        Reason.objection_absolute,
        Reason.gpc_opt_out,
        Reason.not_required,
    }
)
"""Check answers after which there is nothing left to withdraw or object to."""
METHOD_OF_CHANNEL = {Channel.web: Method.web_form, Channel.phone: Method.staff_phone}


def _party_subject(session: Session, request: RightsRequest, controller_id: str) -> uuid.UUID | None:
    if controller_id == request.controller_id and request.subject_id is not None:
        return request.subject_id
    if request.filed_by == FiledBy.guardian:
        return None  # the guardian's link to the child is known at the answering controller only
    found = identity.find_subject_by_hash(
        session, controller_id=controller_id, kind=request.identifier_kind, digest=request.identifier_hash
    )
    return found.id if found is not None else None


def _applies(rule: TargetRule, kind: RequestType) -> bool:
    if rule.target.kind is TargetKind.cookie:
        return False  # cookies are chosen per device in the banner, not per person
    if kind is RequestType.withdraw_consent:
        return rule.needs_consent or rule.basis is LegalBasis.deemed_consent
    return rule.opt_out_basis or rule.direct_marketing


def record_in_ledger(session: Session, *, declaration: Declaration, request: RightsRequest, actor: str) -> int:
    """A completed withdrawal of consent or objection, written to the consent ledger through the consent service:
    a ``withdrawn`` (or ``objected``) event, with the request's reference as its source, for every purpose and
    communication topic the person has not already stopped, at every controller party to the request. An
    objection to legitimate interests that staff found overridden is denied instead (Art. 21(1))."""
    kind = RequestType(request.type)
    event = EventKind.withdrawn if kind is RequestType.withdraw_consent else EventKind.objected
    guardian = request.filed_by == FiledBy.guardian
    method = Method.guardian if guardian else METHOD_OF_CHANNEL.get(Channel(request.channel), Method.system)
    recorded = 0
    for controller_id in request.controller_ids:
        if controller_id not in declaration.controller_by_id:
            continue
        subject_id = _party_subject(session, request, controller_id)
        if subject_id is None:
            continue
        for rule in rules_for(declaration, controller_id).by_code.values():
            if not _applies(rule, kind):
                continue
            decision = consent.check(
                session, declaration=declaration, controller_id=controller_id, target=rule.target, subject_id=subject_id
            )
            if decision.reason in STOPPED:
                continue
            consent.record(
                session,
                declaration=declaration,
                controller_id=controller_id,
                target=rule.target,
                kind=event,
                method=method,
                actor=actor,
                subject_id=subject_id,
                source=f"request:{request.reference}",
                guardian_id=request.guardian_subject_id if guardian else None,
            )
            recorded += 1
    return recorded
