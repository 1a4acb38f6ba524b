"""Consent operations: keyword-only functions that take a session and work in the caller's transaction.

Recording appends an event (with its receipt), rewrites the current state of that holder × target and
appends an audit entry, all in one transaction. Nothing here updates or deletes an event: a withdrawal,
an expiry or a GPC opt-out is a new event, effective at once.
"""

from __future__ import annotations

import hashlib
import re
import typing
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, event, insert, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from dataright.audit.service import DIGEST_KEY, append_entry
from dataright.audit.service import append as audit
from dataright.config import get_settings
from dataright.consent.audiences import HASHED_IDENTIFIERS_NOTE, hash_email
from dataright.consent.check import evaluate, reader_for
from dataright.consent.coverage import event_digest
from dataright.consent.dnc import DncRegistry, register_for, singapore_number
from dataright.consent.models import ConsentEvent, ConsentState
from dataright.consent.receipts import ReceiptBanner, ReceiptEvent, build_receipt
from dataright.consent.rules import (
    ControllerRules,
    Decision,
    EventKind,
    Method,
    Reason,
    StateView,
    TargetRule,
    age_refusal,
    apply_dnc,
    decide,
    dnc_applies,
    expires_at,
    follow_banner,
    guardian_refusal,
    latest,
    opt_out_kind,
    rules_for,
    validate_event,
)
from dataright.consent.targets import Holder, HolderKind, Target, TargetKind
from dataright.consent.unsubscribe import Unsubscribe, UnsubscribeSigner, unsubscribe_headers
from dataright.declarations.schema import CookieCategory, Declaration
from dataright.errors import ConfigurationError, NotFound, PermissionDenied, ValidationFailed
from dataright.identity import service as identity
from dataright.storage.statements import attach, dialect_of, upsert_insert
from dataright.storage.types import utcnow

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CLOCK_SKEW = timedelta(minutes=5)
REJECTED_ATTEMPTS = frozenset({Reason.below_consent_age, Reason.guardian_not_linked, Reason.subject_of_consent_age})
GPC_REASON = "gpc_signal"


@dataclass(frozen=True)
class Proof:
    """What the person was shown and where from. ``text`` is hashed here and never stored."""

    text: str | None = None
    text_hash: str | None = None
    language: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None

    def digest(self) -> str | None:
        if self.text is not None:
            return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        if self.text_hash is not None:
            digest = self.text_hash.strip().lower()
            if not SHA256_HEX.match(digest):
                raise ValidationFailed("proof.text_hash: expected the 64 hex digits of a SHA-256 digest")
            return digest
        return None


@dataclass(frozen=True)
class Preference:
    topic_id: str
    channel: str
    decision: Decision
    changeable: bool


# ------------------------------------------------------------------------------------------------
# holders
# ------------------------------------------------------------------------------------------------
def _holder(session: Session, controller_id: str, subject_id: uuid.UUID | None, device_id: uuid.UUID | None) -> Holder:
    """The holder named by exactly one of the ids, checked to exist and to belong to the controller."""
    if (subject_id is None) == (device_id is None):
        raise ValidationFailed("give exactly one of subject_id and device_id")
    if subject_id is not None:
        identity.subject_of(session, controller_id, subject_id)
        return Holder.subject(subject_id)
    assert device_id is not None
    device = identity.get_device(session, device_id)
    if device is None or device.controller_id != controller_id:
        raise NotFound(f"device {device_id} does not exist for controller {controller_id!r}")
    return Holder.device(device_id)


def _holder_code(subject_id: uuid.UUID | None, device_id: uuid.UUID | None) -> Holder:
    if (subject_id is None) == (device_id is None):
        raise ValidationFailed("give exactly one of subject_id and device_id")
    return Holder.subject(subject_id) if subject_id is not None else Holder.device(device_id)


def _ids(holder: Holder) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    ident = uuid.UUID(holder.id)
    return (ident, None) if holder.kind is HolderKind.subject else (None, ident)


# ------------------------------------------------------------------------------------------------
# recording
# ------------------------------------------------------------------------------------------------
_WRITTEN_STATES = "dataright.consent.written_states"
_EVENTS = typing.cast(Table, ConsentEvent.__table__)
_STATES = typing.cast(Table, ConsentState.__table__)
_STATE_KEY = ("controller_id", "holder", "target")
_STATE_FIELDS = ("status", "event_id", "occurred_at", "expires_at", "evidenced")
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_STATEMENTS: dict[tuple[str, str], Any] = {}  # (dialect, name) -> statement, built on first use


def _statement(session: Session, name: str) -> Any:
    """The event insert that yields to an earlier event under the same import key, and the two state upserts,
    built once per dialect."""
    dialect = dialect_of(session)
    statement = _STATEMENTS.get((dialect, name))
    if statement is not None:
        return statement
    if name == "event_once":
        statement = (
            upsert_insert(_EVENTS, dialect)
            .on_conflict_do_nothing(index_elements=["controller_id", "import_key"])
            .returning(_EVENTS.c.id)
        )
    elif name == "state_rejected":  # a rejected attempt makes a state only where there is none
        statement = upsert_insert(_STATES, dialect).on_conflict_do_nothing(index_elements=list(_STATE_KEY))
    else:  # the event decides the state unless the state's event happened later
        upsert = upsert_insert(_STATES, dialect)
        excluded = upsert.excluded
        statement = upsert.on_conflict_do_update(
            index_elements=list(_STATE_KEY),
            set_={name_: excluded[name_] for name_ in _STATE_FIELDS},
            where=tuple_(excluded.occurred_at, excluded.event_id) >= tuple_(_STATES.c.occurred_at, _STATES.c.event_id),
        )
    _STATEMENTS[(dialect, name)] = statement
    return statement


def _state(session: Session, controller_id: str, holder: Holder, target: Target) -> ConsentState | None:
    key = (controller_id, holder.code, target.code)
    if (
        holder.kind is HolderKind.subject
        and identity.created_in_this_transaction(session, uuid.UUID(holder.id))
        and key not in session.info.get(_WRITTEN_STATES, ())
    ):
        return None  # a subject made in this transaction has no state but those this transaction wrote: no query
    return session.get(ConsentState, key)


@event.listens_for(Session, "after_soft_rollback")
def _forget_written_states(session: Session, previous_transaction: object) -> None:
    session.info.pop(_WRITTEN_STATES, None)


class _AlreadyRecorded(Exception):
    """The import key names an event recorded before (``record`` answers with that event)."""


def _append(
    session: Session,
    *,
    declaration: Declaration,
    rules: ControllerRules,
    rule: TargetRule,
    holder: Holder,
    kind: EventKind,
    method: Method,
    actor: str,
    notice_version: str,
    occurred_at: datetime,
    reason: str | None = None,
    source: str | None = None,
    proof: Proof | None = None,
    guardian_id: uuid.UUID | None = None,
    import_key: str | None = None,
    banner: ReceiptBanner | None = None,
) -> ConsentEvent:
    """Append the event, point the state at it and append its audit entry: three statements, nothing read.

    With an ``import_key`` already recorded for the controller nothing is written and ``_AlreadyRecorded``
    is raised (the event's INSERT is the first statement, so the caller's transaction is as it was).
    """
    settings = get_settings()
    proof = proof or Proof()
    text_hash = proof.digest()
    receipt_id = uuid.uuid4()
    receipt = build_receipt(
        declaration,
        rules,
        ReceiptEvent(
            receipt_id=str(receipt_id),
            kind=kind,
            target=rule.target,
            holder=holder,
            occurred_at=occurred_at,
            method=method,
            notice_version=notice_version,
            source=source,
            language=proof.language,
            text_hash=text_hash,
            guardian_id=Holder.subject(guardian_id).code if guardian_id else None,
            banner=banner,
        ),
    )
    subject_id, device_id = _ids(holder)
    values: dict[str, Any] = {
        "receipt_id": receipt_id,
        "controller_id": rules.controller_id,
        "subject_id": subject_id,
        "device_id": device_id,
        "target": rule.target.code,
        "kind": kind.value,
        "reason": reason,
        "notice_version": notice_version,
        "occurred_at": occurred_at,
        "recorded_at": utcnow(),
        "method": method.value,
        "source": source,
        "actor": actor,
        "guardian_id": guardian_id,
        "text_hash": text_hash,
        "language": proof.language,
        "ip_address": proof.ip_address if settings.record_ip else None,
        "user_agent": proof.user_agent[:400] if settings.record_user_agent and proof.user_agent else None,
        "import_key": import_key,
        "receipt": receipt.as_json(),
    }
    if import_key is None:
        event_id = session.execute(_INSERT_EVENT, values).scalar_one()
    else:
        event_id = session.execute(_statement(session, "event_once"), values).scalar_one_or_none()
        if event_id is None:
            raise _AlreadyRecorded(import_key)
    event = ConsentEvent(id=event_id, **values)
    attach(session, event)
    _derive_state(session, rules, rule, holder, event, rejected=reason in REJECTED_ATTEMPTS)
    append_entry(
        session,
        actor=actor,
        action=f"consent.{kind.value}",
        entity_type="consent_event",
        entity_id=event_id,
        controller_id=rules.controller_id,
        details={
            "holder": holder.code,
            "target": rule.target.code,
            "method": method.value,
            "reason": reason,
            DIGEST_KEY: event_digest(values | {"id": event_id}),  # the chain covers the event (consent.coverage)
        },
    )
    return event


def _derive_state(
    session: Session, rules: ControllerRules, rule: TargetRule, holder: Holder, event: ConsentEvent, *, rejected: bool
) -> None:
    """Point the holder × target state at ``event`` unless a later-happening event already decides it: one
    upsert, which PostgreSQL applies to the row as last committed (two writers of one state cannot undo
    each other's later event).

    A rejected attempt (a child's own consent, a guardian who is not linked) never replaces a state: it
    is history, and it must not undo a guardian's valid consent.
    """
    kind = EventKind(event.kind)
    subject_id, device_id = _ids(holder)
    key = (rules.controller_id, holder.code, rule.target.code)
    session.execute(
        _statement(session, "state_rejected" if rejected else "state"),
        {
            "controller_id": key[0],
            "holder": key[1],
            "target": key[2],
            "subject_id": subject_id,
            "device_id": device_id,
            "status": kind.value,
            "event_id": event.id,
            "occurred_at": event.occurred_at,
            "expires_at": expires_at(rule, kind, event.occurred_at),
            "evidenced": kind is EventKind.given and event.text_hash is not None,
        },
    )
    session.info.setdefault(_WRITTEN_STATES, set()).add(key)
    loaded = session.identity_map.get(identity_key(ConsentState, key))
    if loaded is not None:
        session.expire(loaded)  # read again from the row just written when next used


class ImportKeyReused(ValidationFailed):
    title = "Import key reused"


def import_key_difference(
    earlier: ConsentEvent, *, target: Target, kind: EventKind, holder: Holder, occurred_at: datetime | None
) -> str | None:
    """How an event recorded under an import key differs from a new one offered under the same key, or
    ``None`` when it is the same event again. A ``given`` may have been recorded as ``refused`` (age rule)
    or ``gpc_opt_out``; an event offered without a time matches any."""
    if earlier.target != target.code:
        return f"target {earlier.target}, not {target.code}"
    recorded_as = {EventKind.given: {"given", "refused", "gpc_opt_out"}}.get(kind, {kind.value})
    if earlier.kind not in recorded_as:
        return f"kind {earlier.kind}, not {kind.value}"
    if _holder_code(earlier.subject_id, earlier.device_id).code != holder.code:
        return "another subject or device"
    if occurred_at is not None and earlier.occurred_at != occurred_at:
        return f"occurred_at {earlier.occurred_at.isoformat()}, not {occurred_at.isoformat()}"
    return None


def record(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    target: Target,
    kind: EventKind | str,
    method: Method | str,
    actor: str,
    subject_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    notice_version: str | None = None,
    occurred_at: datetime | None = None,
    source: str | None = None,
    proof: Proof | None = None,
    guardian_id: uuid.UUID | None = None,
    import_key: str | None = None,
    gpc: bool = False,
) -> ConsentEvent:
    """Record one consent event and return it (with its receipt).

    A ``given`` from a subject below the consent age (or from a guardian who is not linked) is recorded
    as ``refused`` with the reason; with ``gpc`` a ``given`` for a sale/sharing/advertising target is
    recorded as ``gpc_opt_out``, and every other such target of the holder is opted out too. With an
    ``import_key`` already recorded for the controller, the earlier event is returned and nothing is added.
    """
    rules = rules_for(declaration, controller_id)
    rule = rules.rule(target)
    try:
        kind, method = EventKind(kind), Method(method)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    validate_event(rule, kind)
    kind_asked = kind  # the rules below may record a given as refused or as a GPC opt-out
    now = utcnow()
    when = occurred_at or now
    if when > now + CLOCK_SKEW:
        raise ValidationFailed("occurred_at: lies in the future")
    holder = _holder(session, controller_id, subject_id, device_id)
    if method is Method.guardian and guardian_id is None:
        raise ValidationFailed("guardian_id: required when the method is 'guardian'")
    if guardian_id is not None and method is not Method.guardian:
        raise ValidationFailed("guardian_id: only with the method 'guardian'")
    reason: str | None = None
    if gpc and rule.gpc_applies and kind is EventKind.given:
        kind, reason = EventKind.gpc_opt_out, GPC_REASON
    elif kind is EventKind.given and holder.kind is HolderKind.subject:
        refusal = _age_refusal(session, rules, holder, method, guardian_id, when)
        if refusal is not None:
            kind, reason = EventKind.refused, refusal.value
    elif guardian_id is not None and not identity.is_guardian_of(session, guardian_id, uuid.UUID(holder.id)):
        raise PermissionDenied(f"subject {guardian_id} is not a linked guardian of subject {holder.id}")
    try:
        event = _append(
            session,
            declaration=declaration,
            rules=rules,
            rule=rule,
            holder=holder,
            kind=kind,
            method=method,
            actor=actor,
            notice_version=notice_version or declaration.notice.label,
            occurred_at=when,
            reason=reason,
            source=source,
            proof=proof,
            guardian_id=guardian_id,
            import_key=import_key,
        )
    except _AlreadyRecorded:
        assert import_key is not None
        return _recorded_before(session, controller_id, import_key, target, kind_asked, holder, occurred_at)
    if gpc:
        _opt_out_by_gpc(session, declaration, rules, holder, method=method, actor=actor, proof=proof)
    return event


def _recorded_before(
    session: Session,
    controller_id: str,
    import_key: str,
    target: Target,
    kind: EventKind,
    holder: Holder,
    occurred_at: datetime | None,
) -> ConsentEvent:
    """The event recorded before under ``import_key``, when it is the event offered again."""
    earlier = session.execute(
        select(ConsentEvent).where(ConsentEvent.controller_id == controller_id, ConsentEvent.import_key == import_key)
    ).scalar_one()
    difference = import_key_difference(earlier, target=target, kind=kind, holder=holder, occurred_at=occurred_at)
    if difference is not None:
        raise ImportKeyReused(
            f"import_key: {import_key!r} was recorded before for a different event ({difference}); "
            "give a new event a new import_key"
        )
    return earlier


def _age_refusal(
    session: Session,
    rules: ControllerRules,
    holder: Holder,
    method: Method,
    guardian_id: uuid.UUID | None,
    when: datetime,
) -> Reason | None:
    subject_id = uuid.UUID(holder.id)
    age = identity.age_on(identity.get_subject(session, subject_id), when.date())
    linked = guardian_id is not None and identity.is_guardian_of(session, guardian_id, subject_id)
    return age_refusal(age=age, consent_age=rules.consent_age, method=method, guardian_linked=linked)


def _opt_out_by_gpc(
    session: Session,
    declaration: Declaration,
    rules: ControllerRules,
    holder: Holder,
    *,
    method: Method,
    actor: str,
    proof: Proof | None = None,
) -> list[ConsentEvent]:
    """Record a GPC opt-out for every sale/sharing/advertising target not already opted out by GPC."""
    recorded: list[ConsentEvent] = []
    for target in rules.gpc_targets:
        state = _state(session, rules.controller_id, holder, target)
        if state is not None and state.status == EventKind.gpc_opt_out:
            continue
        recorded.append(
            _append(
                session,
                declaration=declaration,
                rules=rules,
                rule=rules.rule(target),
                holder=holder,
                kind=EventKind.gpc_opt_out,
                method=method,
                actor=actor,
                notice_version=declaration.notice.label,
                occurred_at=utcnow(),
                reason=GPC_REASON,
                source="Sec-GPC: 1",
                proof=Proof(ip_address=proof.ip_address, user_agent=proof.user_agent) if proof else None,
            )
        )
    return recorded


def record_gpc(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    actor: str,
    method: Method = Method.api,
    subject_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    proof: Proof | None = None,
) -> list[ConsentEvent]:
    """Honour a ``Sec-GPC: 1`` signal: opt the holder out of every sale/sharing/advertising target."""
    rules = rules_for(declaration, controller_id)
    holder = _holder(session, controller_id, subject_id, device_id)
    return _opt_out_by_gpc(session, declaration, rules, holder, method=method, actor=actor, proof=proof)


# ------------------------------------------------------------------------------------------------
# checking
# ------------------------------------------------------------------------------------------------
def _dbapi_connection(session: Session) -> object:
    return session.connection().connection.dbapi_connection


def check(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    target: Target,
    subject_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    now: datetime | None = None,
    gpc: bool = False,
    phone: str | None = None,
    dnc: DncRegistry | None = None,
) -> Decision:
    """May ``target`` be processed for this subject or device now? Reads only.

    With ``gpc`` the signal is honoured in the answer (a sale/sharing/advertising target is refused) and
    nothing is recorded: ``record_gpc``, or ``record`` with ``gpc``, records the opt-out. Marketing by SMS or
    voice to a Singapore number (``phone``, else the subject's phone numbers) is checked against ``dnc``;
    without a registry such a message is refused as unchecked.
    """
    rules = rules_for(declaration, controller_id)
    holder = _holder_code(subject_id, device_id)
    connection = _dbapi_connection(session)
    decision, state, rule = evaluate(
        reader_for(session.get_bind().dialect), connection, rules, holder.code, target, now=now or utcnow(), gpc=gpc
    )
    if rule.guardian_required and decision.allowed and subject_id is not None:
        decision = _check_guardian(session, rules, rule, decision, subject_id, now or utcnow())
    if dnc_applies(rule) and decision.allowed:
        decision = _check_dnc(session, decision, state, rule, subject_id, phone, dnc)
    return decision


def _check_guardian(
    session: Session,
    rules: ControllerRules,
    rule: TargetRule,
    decision: Decision,
    subject_id: uuid.UUID,
    now: datetime,
) -> Decision:
    """``rules.guardian_refusal`` with what it reads: the subject's age, linked guardians and, on a consent
    purpose, the guardian who gave the deciding consent. Reads only."""
    try:
        subject = identity.subject_of(session, rules.controller_id, subject_id)
    except NotFound:
        return decision  # a subject never seen: what the basis alone says, as for ``check_unknown``
    age = identity.age_on(subject, now.date())
    if age is None or age >= rules.consent_age:
        return decision
    guardians = {str(g) for g in identity.guardians_of(session, subject_id)}
    acting: str | None = None
    if rule.needs_consent and decision.event_id is not None:
        event = session.get(ConsentEvent, decision.event_id)
        acting = str(event.guardian_id) if event is not None and event.guardian_id is not None else None
    return guardian_refusal(
        rule, decision, age=age, consent_age=rules.consent_age, guardians=guardians, decided_by_guardian=acting
    )


def check_unknown(
    *,
    declaration: Declaration,
    controller_id: str,
    target: Target,
    now: datetime | None = None,
    gpc: bool = False,
) -> Decision:
    """The answer for a subject or device the ledger has never seen: what the legal basis alone says."""
    rule = rules_for(declaration, controller_id).rule(target)
    return decide(rule, None, now=now or utcnow(), gpc=gpc)


def _check_dnc(
    session: Session,
    decision: Decision,
    state: StateView | None,
    rule: TargetRule,
    subject_id: uuid.UUID | None,
    phone: str | None,
    dnc: DncRegistry | None,
) -> Decision:
    numbers = [phone] if phone else []
    if not numbers and subject_id is not None:
        numbers = identity.reveal_many(session, [subject_id], kind="phone").get(subject_id, [])
    singapore = [n for n in (singapore_number(x) for x in numbers) if n is not None]
    if not singapore:
        return decision
    register = register_for(rule.target.channel) if rule.target.channel else None
    if dnc is None or register is None:
        return apply_dnc(decision, state, registered=None)
    registered = any(dnc.is_registered(n, register) for n in singapore)
    return apply_dnc(decision, state, registered=registered)


def check_many(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    items: Sequence[tuple[uuid.UUID | None, uuid.UUID | None, Target]],
    now: datetime | None = None,
    gpc: bool = False,
    dnc: DncRegistry | None = None,
) -> list[Decision]:
    """``check`` for many (subject_id, device_id, target) triples, answered in order."""
    moment = now or utcnow()
    return [
        check(
            session,
            declaration=declaration,
            controller_id=controller_id,
            target=target,
            subject_id=subject_id,
            device_id=device_id,
            now=moment,
            gpc=gpc,
            dnc=dnc,
        )
        for subject_id, device_id, target in items
    ]


# ------------------------------------------------------------------------------------------------
# history
# ------------------------------------------------------------------------------------------------
def history(session: Session, *, controller_id: str, subject_id: uuid.UUID) -> list[ConsentEvent]:
    """Every event of a subject, in the order they happened (each with its receipt)."""
    identity.subject_of(session, controller_id, subject_id)
    rows = session.execute(
        select(ConsentEvent)
        .where(ConsentEvent.controller_id == controller_id, ConsentEvent.subject_id == subject_id)
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    )
    return list(rows.scalars())


def get_event(session: Session, *, controller_id: str, event_id: int) -> ConsentEvent:
    event = session.get(ConsentEvent, event_id)
    if event is None or event.controller_id != controller_id:
        raise NotFound(f"consent event {event_id} does not exist for controller {controller_id!r}")
    return event


# ------------------------------------------------------------------------------------------------
# preferences and unsubscribe
# ------------------------------------------------------------------------------------------------
def preferences(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    subject_id: uuid.UUID,
    now: datetime | None = None,
) -> list[Preference]:
    """Every communication topic × channel of the controller, with what currently applies to the subject."""
    rules = rules_for(declaration, controller_id)
    _holder(session, controller_id, subject_id, None)
    out: list[Preference] = []
    for rule in rules.by_code.values():
        target = rule.target
        if target.kind is not TargetKind.topic:
            continue
        decision = check(
            session,
            declaration=declaration,
            controller_id=controller_id,
            target=target,
            subject_id=subject_id,
            now=now,
            dnc=None,
        )
        out.append(Preference(target.key, str(target.channel), decision, rule.needs_consent or rule.opt_out_basis))
    return out


def set_preferences(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    subject_id: uuid.UUID,
    choices: Mapping[Target, bool],
    method: Method | str,
    actor: str,
    proof: Proof | None = None,
    guardian_id: uuid.UUID | None = None,
    gpc: bool = False,
) -> list[ConsentEvent]:
    """Switch topics × channels on or off; only real changes are recorded."""
    rules = rules_for(declaration, controller_id)
    recorded: list[ConsentEvent] = []
    for target, wanted in choices.items():
        if target.kind is not TargetKind.topic:
            raise ValidationFailed(f"{target.code}: preferences are communication topics × channels")
        rule = rules.rule(target)
        if not (rule.needs_consent or rule.opt_out_basis):
            raise ValidationFailed(f"{target.code}: sent under {rule.basis}; it cannot be switched on or off")
        current = check(
            session, declaration=declaration, controller_id=controller_id, target=target, subject_id=subject_id
        )
        if current.allowed == wanted:
            continue
        recorded.append(
            record(
                session,
                declaration=declaration,
                controller_id=controller_id,
                target=target,
                kind=EventKind.given if wanted else opt_out_kind(rule),
                method=method,
                actor=actor,
                subject_id=subject_id,
                proof=proof,
                guardian_id=guardian_id,
                gpc=gpc,
            )
        )
    return recorded


def unsubscribe_signer() -> UnsubscribeSigner:
    return UnsubscribeSigner(get_settings().keys().link_signing)


def unsubscribe_link_headers(
    *,
    declaration: Declaration,
    controller_id: str,
    subject_id: uuid.UUID,
    topic_id: str,
    channel: str,
    language: str | None = None,
) -> dict[str, str]:
    """``List-Unsubscribe`` headers for one message of a topic to one subject (RFC 8058).

    ``language`` is the message's language: the link's page speaks it (when the controller offers it).
    """
    target = Target.topic(topic_id, channel)
    rule = rules_for(declaration, controller_id).rule(target)
    if not (rule.needs_consent or rule.opt_out_basis):
        raise ValidationFailed(f"{target.code}: sent under {rule.basis}; it has no unsubscribe link")
    assert target.channel is not None
    offered = declaration.controller_by_id[controller_id].languages
    if language is not None and language not in offered:
        languages = ", ".join(offered)
        raise ValidationFailed(f"language: {language!r} is not one of {controller_id}'s languages ({languages})")
    request = Unsubscribe(controller_id, str(subject_id), topic_id, target.channel, language)
    try:
        return unsubscribe_headers(get_settings().base_url, unsubscribe_signer().sign(request))
    except ValueError as exc:
        raise ConfigurationError(f"base_url: {exc}") from None


def is_unsubscribed(session: Session, *, declaration: Declaration, request: Unsubscribe) -> bool:
    """Whether the topic x channel of a link is already stopped for its subject (reads only)."""
    current = check(
        session,
        declaration=declaration,
        controller_id=request.controller_id,
        target=Target.topic(request.topic_id, request.channel),
        subject_id=uuid.UUID(request.subject_id),
    )
    return not current.allowed


def unsubscribe(
    session: Session,
    *,
    declaration: Declaration,
    request: Unsubscribe,
    actor: str = "one_click",
    proof: Proof | None = None,
) -> ConsentEvent | None:
    """Withdraw (or object to) one topic × channel from a one-click link; None when already stopped."""
    subject_id = uuid.UUID(request.subject_id)
    target = Target.topic(request.topic_id, request.channel)
    rule = rules_for(declaration, request.controller_id).rule(target)
    current = check(
        session, declaration=declaration, controller_id=request.controller_id, target=target, subject_id=subject_id
    )
    if not current.allowed:
        return None
    return record(
        session,
        declaration=declaration,
        controller_id=request.controller_id,
        target=target,
        kind=opt_out_kind(rule),
        method=Method.one_click,
        actor=actor,
        subject_id=subject_id,
        source="List-Unsubscribe",
        proof=proof,
    )


# ------------------------------------------------------------------------------------------------
# cookies and devices
# ------------------------------------------------------------------------------------------------
def record_cookie_consent(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    device_token: str,
    accepted: Iterable[str],
    actor: str,
    notice_version: str | None = None,
    gpc: bool = False,
    proof: Proof | None = None,
    subject_id: uuid.UUID | None = None,
    banner_revision: str | None = None,
) -> list[ConsentEvent]:
    """A banner's answer: each cookie category accepted or not, and each purpose those cookies serve.

    A purpose counts as consented when every category holding its cookies is accepted. With ``gpc``
    targeting cookies and advertising purposes are opted out whatever was ticked. When the person is
    logged in (``subject_id``) the device is linked and the choices become theirs. Every event's receipt
    carries the whole choice (``cookieBanner``: the banner's revision, its language, the categories accepted and
    rejected, the GPC signal) and its source names the banner's revision.
    """
    rules = rules_for(declaration, controller_id)
    chosen = set(accepted)
    unknown = sorted(chosen - set(CookieCategory))
    if unknown:
        raise ValidationFailed(f"accepted: unknown cookie categories {unknown}; expected {', '.join(CookieCategory)}")
    device = identity.get_or_create_device(session, controller_id, device_token, actor=actor)
    holder = Holder.device(device.id)
    recorded: list[ConsentEvent] = []
    optional = [c for c in CookieCategory if c is not CookieCategory.strictly_necessary]
    gpc_blocked = {c for c in optional if gpc and rules.rule(Target.cookie(c)).gpc_applies}
    choice = ReceiptBanner(
        revision=banner_revision,
        language=proof.language if proof else None,
        accepted=[str(c) for c in optional if c in chosen and c not in gpc_blocked],
        rejected=[str(c) for c in optional if c not in chosen or c in gpc_blocked],
        gpc=gpc,
    )
    source = f"cookie banner revision {banner_revision}" if banner_revision else "cookie banner"

    def choose(target: Target, yes: bool) -> None:
        rule = rules.rule(target)
        state = _state(session, controller_id, holder, target)
        if gpc and rule.gpc_applies:
            kind = EventKind.gpc_opt_out
        elif yes:
            kind = EventKind.given
        else:
            kind = EventKind.withdrawn if state is not None and state.status == EventKind.given else EventKind.refused
        recorded.append(
            _append(
                session,
                declaration=declaration,
                rules=rules,
                rule=rule,
                holder=holder,
                kind=kind,
                method=Method.banner,
                actor=actor,
                notice_version=notice_version or declaration.notice.label,
                occurred_at=utcnow(),
                reason=GPC_REASON if kind is EventKind.gpc_opt_out else None,
                source=source,
                proof=proof,
                banner=choice,
            )
        )

    for category in CookieCategory:
        if category is not CookieCategory.strictly_necessary:
            choose(Target.cookie(category), category in chosen)
    for purpose_id, categories in rules.purpose_categories.items():
        choose(Target.purpose(purpose_id), all(c in chosen for c in categories))
    if subject_id is not None:
        recorded.extend(
            link_device_to_subject(
                session,
                declaration=declaration,
                controller_id=controller_id,
                device_token=device_token,
                subject_id=subject_id,
                actor=actor,
            )
        )
    return recorded


def link_device_to_subject(
    session: Session,
    *,
    declaration: Declaration,
    controller_id: str,
    device_token: str,
    subject_id: uuid.UUID,
    actor: str,
) -> list[ConsentEvent]:
    """On login: tie the device to the subject and carry its choices over as the subject's own events.

    A device choice replaces the subject's only when it happened later; a carried-over consent meets the
    same age rule as any other (a child's banner click does not become the child's consent).
    """
    rules = rules_for(declaration, controller_id)
    device = identity.link_device(
        session, controller_id=controller_id, device_id=device_token, subject_id=subject_id, actor=actor
    )
    device_holder, subject_holder = Holder.device(device.id), Holder.subject(subject_id)
    states = session.execute(
        select(ConsentState).where(
            ConsentState.controller_id == controller_id, ConsentState.holder == device_holder.code
        )
    ).scalars()
    recorded: list[ConsentEvent] = []
    for state in list(states):
        target = Target.parse(state.target)
        if target.code not in rules.by_code:
            continue  # no longer declared
        mine = _state(session, controller_id, subject_holder, target)
        if mine is not None and (mine.occurred_at, mine.event_id) >= (state.occurred_at, state.event_id):
            continue
        origin = session.get(ConsentEvent, state.event_id)
        assert origin is not None
        recorded.append(
            record(
                session,
                declaration=declaration,
                controller_id=controller_id,
                target=target,
                kind=origin.kind,
                method=origin.method,
                actor=actor,
                subject_id=subject_id,
                notice_version=origin.notice_version,
                occurred_at=origin.occurred_at,
                source=f"device {device.id}",
                proof=Proof(text_hash=origin.text_hash, language=origin.language),
            )
        )
    return recorded


# ------------------------------------------------------------------------------------------------
# expiry
# ------------------------------------------------------------------------------------------------
def expire_due(session: Session, *, declaration: Declaration, controller_id: str, now: datetime | None = None) -> int:
    """Record an ``expired`` event for every given consent whose lifetime has ended; returns the count.

    Checks already treat such consent as expired; this writes it into the history.
    """
    rules = rules_for(declaration, controller_id)
    moment = now or utcnow()
    due = session.execute(
        select(ConsentState).where(
            ConsentState.controller_id == controller_id,
            ConsentState.status == EventKind.given.value,
            ConsentState.expires_at <= moment,
        )
    ).scalars()
    count = 0
    for state in list(due):
        target = Target.parse(state.target)
        if target.code not in rules.by_code:
            continue
        _append(
            session,
            declaration=declaration,
            rules=rules,
            rule=rules.rule(target),
            holder=Holder.parse(state.holder),
            kind=EventKind.expired,
            method=Method.system,
            actor="system",
            notice_version=declaration.notice.label,
            occurred_at=state.expires_at or moment,
            reason="lifetime_ended",
        )
        count += 1
    return count


# ------------------------------------------------------------------------------------------------
# audiences
# ------------------------------------------------------------------------------------------------
def lawful_subjects(
    session: Session, *, declaration: Declaration, controller_id: str, purpose_id: str, now: datetime | None = None
) -> Iterator[uuid.UUID]:
    """The subjects for whom ``purpose_id`` may be carried out now.

    A consent purpose: those whose state is a live ``given``. A purpose on legitimate interests: every
    subject of the controller except those with an objection, withdrawal or GPC opt-out on record. A purpose
    whose consent is given through the cookie banner follows the banner's choice (``banner_subjects``). A
    child below the consent age with no linked guardian is left out of a purpose that needs a guardian.
    """
    rules = rules_for(declaration, controller_id)
    rule = rules.rule(Target.purpose(purpose_id))
    moment = now or utcnow()
    if rules.purpose_categories.get(purpose_id):
        yield from banner_subjects(session, rules=rules, purpose_id=purpose_id, now=moment)
        return
    rows = session.execute(
        select(
            ConsentState.subject_id,
            ConsentState.status,
            ConsentState.event_id,
            ConsentState.expires_at,
            ConsentState.evidenced,
        )
        .where(
            ConsentState.controller_id == controller_id,
            ConsentState.target == rule.target.code,
            ConsentState.subject_id.is_not(None),
        )
        .order_by(ConsentState.subject_id)
    )
    decided: set[uuid.UUID] = set()
    for subject_id, status, event_id, expires, evidenced in rows:
        assert subject_id is not None
        decided.add(subject_id)
        view = StateView(EventKind(status), event_id, expires, evidenced)
        decision = decide(rule, view, now=moment)
        if decision.allowed and rule.guardian_required:
            decision = _check_guardian(session, rules, rule, decision, subject_id, moment)
        if decision.allowed:
            yield subject_id
    unknown = decide(rule, None, now=moment)
    if rule.needs_consent or not unknown.allowed:
        return
    for subject_id in identity.subject_ids(session, controller_id):
        if subject_id in decided:
            continue
        if not rule.guardian_required or _check_guardian(session, rules, rule, unknown, subject_id, moment).allowed:
            yield subject_id


def banner_subjects(session: Session, *, rules: ControllerRules, purpose_id: str, now: datetime) -> Iterator[uuid.UUID]:
    """The subjects a purpose consented to through the cookie banner may be carried out for now.

    The banner records choices for a device; a device linked to a subject (on login) speaks for them, also
    for choices made after the link. For each subject the latest state of the purpose and of each of its
    cookie categories is taken across the subject and their devices, and ``rules.follow_banner`` decides:
    "reject all" on a linked device withdraws the purpose.
    """
    rule = rules.rule(Target.purpose(purpose_id))
    categories = [Target.cookie(c).code for c in rules.purpose_categories[purpose_id]]
    owners = identity.device_owners(session, rules.controller_id)
    rows = session.execute(
        select(
            ConsentState.subject_id,
            ConsentState.device_id,
            ConsentState.target,
            ConsentState.status,
            ConsentState.event_id,
            ConsentState.expires_at,
            ConsentState.evidenced,
            ConsentState.occurred_at,
        ).where(
            ConsentState.controller_id == rules.controller_id,
            ConsentState.target.in_([rule.target.code, *categories]),
        )
    )
    states: dict[uuid.UUID, dict[str, StateView]] = {}
    for subject_id, device_id, target, status, event_id, expires, evidenced, occurred in rows:
        owner = subject_id if subject_id is not None else owners.get(device_id) if device_id is not None else None
        if owner is None:
            continue  # a device nobody logged in on: no one to send to
        view = StateView(EventKind(status), event_id, expires, evidenced, occurred)
        mine = states.setdefault(owner, {})
        newest = latest(mine.get(target), view)
        assert newest is not None
        mine[target] = newest
    for subject_id in sorted(states):
        mine = states[subject_id]
        decision = follow_banner(rule, mine.get(rule.target.code), [mine.get(c) for c in categories], now=now)
        if decision.allowed and rule.guardian_required:
            decision = _check_guardian(session, rules, rule, decision, subject_id, now)
        if decision.allowed:
            yield subject_id


AUDIENCE_CHUNK = 500


def audience_hashes(
    session: Session, *, declaration: Declaration, controller_id: str, purpose_id: str, now: datetime | None = None
) -> Iterator[str]:
    """The SHA-256 of the normalised e-mail addresses of exactly ``lawful_subjects``, streamed in chunks."""
    moment = now or utcnow()
    chunk: list[uuid.UUID] = []
    for subject_id in lawful_subjects(
        session, declaration=declaration, controller_id=controller_id, purpose_id=purpose_id, now=moment
    ):
        chunk.append(subject_id)
        if len(chunk) >= AUDIENCE_CHUNK:
            yield from _email_hashes(session, chunk)
            chunk = []
    yield from _email_hashes(session, chunk)


def _email_hashes(session: Session, subject_ids: list[uuid.UUID]) -> Iterator[str]:
    if not subject_ids:
        return
    addresses = identity.reveal_many(session, subject_ids, kind="email")
    for subject_id in subject_ids:
        for address in addresses.get(subject_id, []):
            yield hash_email(address)


def record_audience_export(
    session: Session, *, controller_id: str, purpose_id: str, recipient_id: str, count: int, actor: str
) -> None:
    """Note an export in the audit trail: which purpose, which recipient, how many hashes; never the hashes
    themselves, which are personal data (``audiences.HASHED_IDENTIFIERS_NOTE``)."""
    audit(
        session,
        actor=actor,
        action="consent.audience_exported",
        entity_type="purpose",
        entity_id=purpose_id,
        controller_id=controller_id,
        details={
            "count": count,
            "format": "sha256-email",
            "recipient": recipient_id,
            "personal_data": HASHED_IDENTIFIERS_NOTE,
        },
    )
