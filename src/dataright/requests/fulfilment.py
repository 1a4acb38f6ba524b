"""What completing a request does: fulfilment tasks, legal holds, erasure with suppression, packages.

* An erasure, rectification or restriction gets one task per connected datastore of every controller party
  to it (the connector engine executes those) and one per recipient owed a notice of the change (GDPR
  Art. 19: every processor and recipient the controller's purposes disclose to). Staff tick them off; the
  request completes only when all are done.
* An erasure keeps what a legal hold binds the controller to keep, and says so: each hold's description,
  the law that keeps it and until when. The platform's own copy of the person's identifiers is erased,
  leaving a keyed hash only (a suppression record), so no import brings them back and no mailing reaches
  them.
* An access or portability request is answered with a package, stored encrypted and reached through a
  signed link that expires.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.schema import Declaration, LegalHold, RecipientType, Role
from dataright.engine.holds import held_until
from dataright.errors import NotFound
from dataright.identity import service as identity
from dataright.requests import delivery, disclosures, ledger, timing
from dataright.requests.lifecycle import CHANGES_DATA, DELIVERS_PACKAGE, FiledBy, RequestType
from dataright.requests.models import RequestPackage, RequestTask, RightsRequest
from dataright.requests.package import build_package
from dataright.storage.types import utcnow

PACKAGE_LINK_TTL = timedelta(days=14)
NOTIFY = "notify_recipient"
DATASTORE = "datastore"


@dataclass(frozen=True)
class Reply:
    link: str = ""
    link_expires_on: date | None = None
    kept_items: list[dict[str, str]] = field(default_factory=list)
    ledger_events: int = 0
    """Withdrawals or objections written to the consent ledger."""


# ------------------------------------------------------------------------------------------------
# tasks
# ------------------------------------------------------------------------------------------------
def notify_targets(declaration: Declaration, controller_id: str) -> list[tuple[str, str]]:
    """(id, name) of every processor and recipient the controller's purposes disclose personal data to."""
    targets: dict[str, str] = {}
    for purpose in declaration.purposes_of(controller_id):
        for ref in purpose.recipients:
            system = declaration.system_by_id.get(ref)
            if system is not None:
                if system.role is not Role.internal:
                    targets.setdefault(ref, system.legal_name or system.name)
                continue
            recipient = declaration.recipient_by_id.get(ref)
            if recipient is not None and recipient.type is not RecipientType.authority:
                targets.setdefault(ref, recipient.name.get("en") or next(iter(recipient.name.values())))
    return sorted(targets.items())


def disclosed_to(
    session: Session, declaration: Declaration, request: RightsRequest, controller_id: str
) -> list[tuple[str, str, str]]:
    """(id, name, law) of each organisation the disclosure log shows the person's data went to within the time
    the controller's law covers before the request (PDPA s. 22(2): a year); none where the law sets no such time."""
    pack = get_jurisdiction(declaration.controller_by_id[controller_id].jurisdiction)
    if pack.disclosures_covered is None:
        return []
    start = disclosures.since(pack.disclosures_covered, request.received_at)
    found = disclosures.recipients_of_subject(
        session, controller_id=controller_id, hashes=person_hashes(session, request), start=start
    )
    names = dict(notify_targets(declaration, controller_id))
    out = []
    for target in found:
        system = declaration.system_by_id.get(target)
        recipient = declaration.recipient_by_id.get(target)
        name = names.get(target) or (system.legal_name or system.name if system is not None else None)
        if name is None and recipient is not None:
            name = recipient.name.get("en") or next(iter(recipient.name.values()))
        out.append((target, name or target, pack.disclosures_reference or pack.id))
    return out


def create_tasks(session: Session, *, declaration: Declaration, request: RightsRequest, actor: str) -> int:
    """The request's fulfilment tasks for every controller party to it; the number created."""
    if RequestType(request.type) not in CHANGES_DATA or request.tasks:
        return 0
    for controller_id in request.controller_ids:
        for dataset in declaration.datasets_of(controller_id):
            request.tasks.append(
                RequestTask(
                    controller_id=controller_id,
                    kind=DATASTORE,
                    target=dataset.id,
                    label=f"{request.type} in {dataset.name or dataset.id} (the connector engine runs it)",
                )
            )
        declared = notify_targets(declaration, controller_id)
        for target, name in declared:
            request.tasks.append(
                RequestTask(
                    controller_id=controller_id,
                    kind=NOTIFY,
                    target=target,
                    label=f"tell {name} of the {request.type} (Art. 19)",
                )
            )
        for target, name, law in disclosed_to(session, declaration, request, controller_id):
            if target in {t for t, _ in declared}:
                continue
            request.tasks.append(
                RequestTask(
                    controller_id=controller_id,
                    kind=NOTIFY,
                    target=target,
                    label=f"send the {request.type} to {name} (data disclosed to it in the past year; {law})",
                )
            )
    session.flush()
    audit(
        session,
        actor=actor,
        action="request.tasks_created",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={
            "reference": request.reference,
            "tasks": len(request.tasks),
            "datastores": sum(t.kind == DATASTORE for t in request.tasks),
        },
    )
    return len(request.tasks)


def person_hashes(session: Session, request: RightsRequest) -> list[tuple[str, str]]:
    """(kind, keyed hash) of every identifier of the person the request is about: the one they asked under
    (the child's, for a guardian's request) and, once the person is found, every identifier on record."""
    found: list[tuple[str, str]] = []
    if request.filed_by == FiledBy.guardian:
        if request.on_behalf_kind and request.on_behalf_hash:
            found.append((request.on_behalf_kind, request.on_behalf_hash))
    else:
        found.append((request.identifier_kind, request.identifier_hash))
    if request.subject_id is not None:
        try:
            subject = identity.get_subject(session, request.subject_id)
        except NotFound:
            subject = None
        if subject is not None:
            found.extend((i.kind, i.hash) for i in subject.identifiers)
    return list(dict.fromkeys(found))


def record_task_disclosure(session: Session, *, request: RightsRequest, task: RequestTask, actor: str) -> None:
    """An Art. 19 (PDPA s. 22(2)) notice ticked off as sent goes into the disclosure log."""
    if task.kind != NOTIFY:
        return
    hashes = person_hashes(session, request)
    kind, digest = hashes[0] if hashes else (None, None)
    disclosures.record_disclosure(
        session,
        controller_id=task.controller_id,
        kind=disclosures.DisclosureKind.recipient_notice,
        recipient=task.target,
        actor=actor,
        subject_kind=kind or "email",
        subject_hash=digest,
        reference=request.reference,
    )


# ------------------------------------------------------------------------------------------------
# legal holds
# ------------------------------------------------------------------------------------------------
def _held_until(hold: LegalHold, today: date, fiscal_year_ends: list[str | None]) -> date:
    """The last day a hold keeps what is kept now: a bookkeeping hold runs from the end of the current financial
    year of each controller it binds (``fiscal_year_end``; the calendar year when none is declared), the
    latest of them; others from today. The same reckoning as the datastore engine's (``engine.holds``)."""
    return max(held_until(hold, today, end) for end in fiscal_year_ends) - timedelta(days=1)


def kept_items(declaration: Declaration, request: RightsRequest, today: date) -> list[dict[str, str]]:
    """What an erasure keeps: every legal hold a party's purposes name and that binds that party."""
    items: list[dict[str, str]] = []
    seen: set[str] = set()
    for controller_id in request.controller_ids:
        for purpose in declaration.purposes_of(controller_id):
            for hold_id in purpose.legal_holds:
                hold = declaration.hold_by_id[hold_id]
                if hold_id in seen or not hold.binds(controller_id):
                    continue
                seen.add(hold_id)
                bound = [c for c in request.controller_ids if hold.binds(c) and c in declaration.controller_by_id]
                fiscal_year_ends = [declaration.controller_by_id[c].fiscal_year_end for c in bound] or [None]
                what = hold.description.get(request.language) or hold.description.get("en")  # type: ignore[call-overload]
                items.append(
                    {
                        "what": what or next(iter(hold.description.values())),
                        "law": hold.reference,
                        "until": _held_until(hold, today, fiscal_year_ends).isoformat(),
                    }
                )
    return items


def _erase(session: Session, request: RightsRequest, actor: str) -> int:
    """Erase the platform's copy of the person at every party and suppress the identifier that asked."""
    erased = 0
    for controller_id in request.controller_ids:
        subject = identity.find_subject_by_hash(
            session, controller_id=controller_id, kind=request.identifier_kind, digest=request.identifier_hash
        )
        if request.filed_by == "guardian" and controller_id == request.controller_id and request.subject_id:
            subject = identity.get_subject(session, request.subject_id)
        if subject is not None:
            erased += identity.erase_identifiers(session, subject.id, reason="erasure_request", actor=actor)
        if request.filed_by != "guardian":
            identity.suppress_hash(
                session,
                controller_id=controller_id,
                kind=request.identifier_kind,
                digest=request.identifier_hash,
                reason="erasure_request",
                actor=actor,
            )
    return erased


# ------------------------------------------------------------------------------------------------
# packages
# ------------------------------------------------------------------------------------------------
def _store_package(
    session: Session,
    request: RightsRequest,
    *,
    purpose: str,
    filename: str,
    data: bytes,
    expires_at: datetime,
) -> RequestPackage:
    package_id = uuid.uuid4()
    package = RequestPackage(
        id=package_id,
        request_id=request.id,
        purpose=purpose,
        filename=filename,
        ciphertext=delivery.encrypt_package(request.id, package_id, data),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        expires_at=expires_at,
    )
    session.add(package)
    session.flush()
    return package


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def keep_copy_after_refusal(
    session: Session, *, declaration: Declaration, request: RightsRequest, until: date, now: datetime
) -> None:
    """PDPA: keep a copy of the data an access request asked for, encrypted, until ``until`` (never delivered)."""
    if RequestType(request.type) not in DELIVERS_PACKAGE:
        return
    filename, data = build_package(session, declaration=declaration, request=request)
    _store_package(
        session, request, purpose="kept_after_refusal", filename=filename, data=data, expires_at=_end_of(until)
    )


def carry_out(
    session: Session, *, declaration: Declaration, request: RightsRequest, actor: str, base_url: str
) -> Reply:
    """Do what completing the request means and say what the person is told."""
    kind = RequestType(request.type)
    today = timing.local_date(declaration, request.controller_id, utcnow())
    if kind in DELIVERS_PACKAGE:
        filename, data = build_package(session, declaration=declaration, request=request)
        expires_on = today + PACKAGE_LINK_TTL
        package = _store_package(
            session, request, purpose="delivery", filename=filename, data=data, expires_at=_end_of(expires_on)
        )
        token = delivery.sign_download(
            delivery.DownloadGrant(request_id=request.id, package_id=package.id, expires_at=package.expires_at)
        )
        link = f"{base_url}/api/v1/requests/{request.reference}/package?token={token}"
        hashes = person_hashes(session, request)
        disclosures.record_disclosure(
            session,
            controller_id=request.controller_id,
            kind=disclosures.DisclosureKind.access_package
            if kind is RequestType.access
            else disclosures.DisclosureKind.portability_package,
            recipient="guardian" if request.filed_by == FiledBy.guardian else disclosures.DATA_SUBJECT,
            actor=actor,
            subject_kind=hashes[0][0] if hashes else "email",
            subject_hash=hashes[0][1] if hashes else None,
            reference=request.reference,
        )
        return Reply(link=link, link_expires_on=expires_on)
    if kind is RequestType.erasure:
        kept = kept_items(declaration, request, today)
        _erase(session, request, actor)
        return Reply(kept_items=kept)
    if kind in (RequestType.withdraw_consent, RequestType.objection):
        return Reply(
            ledger_events=ledger.record_in_ledger(session, declaration=declaration, request=request, actor=actor)
        )
    return Reply()
