"""The consent decision as pure functions over plain data: no database, no clock, no I/O.

The ledger stores what happened (events); these functions say what it means:

* **Age.** The effective consent age is the stricter of the jurisdiction pack's statutory age and the
  controller's own rule (``rights.consent_age``). Consent from a younger subject is refused unless a
  linked guardian gives it (GDPR Art. 8; personopplysningsloven § 5; PDPC guidelines ch. 8). On a purpose
  the declaration marks ``guardian_consent``, a check refuses such a child with no linked guardian whatever
  the legal basis (a contract a guardian must enter into for the child), and on consent wants the guardian's.
* **GPC.** A ``Sec-GPC: 1`` signal is an opt-out of every purpose that sells or shares data or targets
  advertising (``sale_or_sharing`` or a ``marketing.advertising`` data use), and of targeting cookies;
  it wins over an earlier opt-in (CCPA regs. § 7025; the GPC specification).
* **Expiry.** Consent given under a purpose with ``consent.lifetime`` lapses that long after it was given.
* **Other bases.** A purpose resting on contract, legal obligation, ... answers with that basis. One on
  legitimate interests (or public task, or PDPA deemed consent) runs until the person objects; an
  objection to direct marketing is absolute (GDPR Art. 21(2)-(3)) and cannot be overruled.
* **Do Not Call.** Marketing by SMS or voice to a Singapore number on the DNC registry is refused unless
  the person's consent is evidenced in a form kept for reference (PDPA s. 43(1), (3)).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from dataright.consent.targets import Target, TargetKind
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.periods import Period
from dataright.declarations.schema import Channel, Controller, CookieCategory, Declaration, LegalBasis, Purpose
from dataright.errors import Conflict, NotFound, ValidationFailed


class EventKind(StrEnum):
    given = "given"
    withdrawn = "withdrawn"
    refused = "refused"
    expired = "expired"
    objected = "objected"
    # The controller demonstrated compelling legitimate grounds (GDPR Art. 21(1)); never for direct marketing.
    objection_overruled = "objection_overruled"
    gpc_opt_out = "gpc_opt_out"


class Method(StrEnum):
    web_form = "web_form"
    api = "api"
    import_ = "import"
    guardian = "guardian"
    staff_phone = "staff_phone"
    banner = "banner"
    one_click = "one_click"
    system = "system"  # recorded by dataright itself (an expiry sweep)


class Reason(StrEnum):
    """Why a check answered as it did (machine-readable; stable across releases)."""

    consent_given = "consent_given"
    no_consent = "no_consent"
    consent_withdrawn = "consent_withdrawn"
    consent_refused = "consent_refused"
    consent_expired = "consent_expired"
    gpc_opt_out = "gpc_opt_out"
    objection = "objection"
    objection_absolute = "objection_absolute"
    compelling_grounds = "compelling_grounds"
    basis_applies = "basis_applies"
    not_required = "not_required"
    dnc_registered = "dnc_registered"
    dnc_unchecked = "dnc_unchecked"
    # reasons a ``given`` event is turned into a ``refused`` one when it is recorded
    below_consent_age = "below_consent_age"
    guardian_not_linked = "guardian_not_linked"
    subject_of_consent_age = "subject_of_consent_age"
    # a check's answer for a child below the consent age on a purpose the declaration says needs a guardian
    guardian_required = "guardian_required"


OPT_OUT_BASES = frozenset({LegalBasis.legitimate_interests, LegalBasis.public_task, LegalBasis.deemed_consent})
"""Bases that apply until the person objects (or, for PDPA deemed consent, withdraws)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Decision(NamedTuple):
    """An answer of the check (a named tuple: made on every check, it must be cheap to build)."""

    allowed: bool
    basis: LegalBasis | None
    reason: Reason
    event_id: int | None = None


class StateView(NamedTuple):
    """The current state of one holder × target, as the state table keeps it."""

    status: EventKind
    event_id: int
    expires_at: datetime | None = None
    evidenced: bool = False
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TargetRule:
    """What the declaration says about one target of one controller."""

    target: Target
    basis: LegalBasis | None
    purpose_id: str | None = None
    lifetime: Period | None = None
    gpc_applies: bool = False
    direct_marketing: bool = False
    objection_absolute: bool = False
    # the declaration says a guardian must consent for a child below the consent age (``guardian_consent``)
    guardian_required: bool = False
    # derived once, read on every check
    needs_consent: bool = field(init=False, repr=False, compare=False)
    opt_out_basis: bool = field(init=False, repr=False, compare=False)
    reads_state: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        needs_consent = self.basis is LegalBasis.consent
        opt_out_basis = self.basis in OPT_OUT_BASES
        object.__setattr__(self, "needs_consent", needs_consent)
        object.__setattr__(self, "opt_out_basis", opt_out_basis)
        # whether anything recorded can change the answer (a contract purpose always answers the same)
        reads = self.basis is not None and (needs_consent or opt_out_basis or self.gpc_applies)
        object.__setattr__(self, "reads_state", reads)


@dataclass(frozen=True)
class ControllerRules:
    """Every target of one controller with its rule, built once per loaded declaration."""

    controller_id: str
    jurisdiction: str
    consent_age: int
    by_code: Mapping[str, TargetRule]
    category_purposes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    purpose_categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def rule(self, target: Target) -> TargetRule:
        rule = self.by_code.get(target.code)
        if rule is None:
            known = sorted({r.target.key for r in self.by_code.values() if r.target.kind == target.kind})
            near = difflib.get_close_matches(target.key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise NotFound(f"{target.kind} {target.key!r} is not declared for controller {self.controller_id!r}{hint}")
        return rule

    @property
    def gpc_targets(self) -> tuple[Target, ...]:
        """Purposes and cookie categories a GPC signal opts out of."""
        return tuple(r.target for r in self.by_code.values() if r.gpc_applies)


# ------------------------------------------------------------------------------------------------
# reading the declaration
# ------------------------------------------------------------------------------------------------
def is_gpc_purpose(purpose: Purpose) -> bool:
    """Sale or sharing, or targeted advertising (fideslang ``marketing.advertising`` and below)."""
    use = purpose.data_use or ""
    return purpose.sale_or_sharing or use == "marketing.advertising" or use.startswith("marketing.advertising.")


def effective_consent_age(declaration: Declaration, controller_id: str) -> int:
    """The stricter of the jurisdiction pack's age and the controller's own ``rights.consent_age``."""
    controller = _controller(declaration, controller_id)
    own = declaration.rights_of(controller_id).consent_age
    return get_jurisdiction(controller.jurisdiction).consent_age(own)


def _controller(declaration: Declaration, controller_id: str) -> Controller:
    controller = declaration.controller_by_id.get(controller_id)
    if controller is None:
        raise NotFound(f"controller {controller_id!r} is not in declaration {declaration.organisation.id!r}")
    return controller


def _purpose_rule(purpose: Purpose, target: Target | None = None) -> TargetRule:
    return TargetRule(
        target=target or Target.purpose(purpose.id),
        basis=purpose.legal_basis,
        purpose_id=purpose.id,
        lifetime=purpose.consent.lifetime if purpose.consent else None,
        gpc_applies=is_gpc_purpose(purpose),
        direct_marketing=purpose.direct_marketing,
        objection_absolute=purpose.direct_marketing or bool(purpose.objection and purpose.objection.absolute),
        guardian_required=purpose.guardian_consent,
    )


def build_rules(declaration: Declaration, controller_id: str) -> ControllerRules:
    controller = _controller(declaration, controller_id)
    by_code: dict[str, TargetRule] = {}
    purposes = {p.id: p for p in declaration.purposes_of(controller_id)}
    for purpose in purposes.values():
        rule = _purpose_rule(purpose)
        by_code[rule.target.code] = rule

    category_purposes: dict[str, list[str]] = {str(c): [] for c in CookieCategory}
    for cookie in declaration.cookies_of(controller_id):
        linked = category_purposes[str(cookie.category)]
        if cookie.consent_purpose and cookie.consent_purpose in purposes and cookie.consent_purpose not in linked:
            linked.append(cookie.consent_purpose)
    for category in CookieCategory:
        target = Target.cookie(category)
        if category is CookieCategory.strictly_necessary:
            # ePrivacy Art. 5(3): storage strictly necessary for the service asked for needs no consent.
            by_code[target.code] = TargetRule(target=target, basis=None)
            continue
        linked_purposes = [purposes[p] for p in category_purposes[str(category)]]
        lifetimes = [p.consent.lifetime for p in linked_purposes if p.consent and p.consent.lifetime]
        by_code[target.code] = TargetRule(
            target=target,
            basis=LegalBasis.consent,
            lifetime=min(lifetimes, key=Period.approx_days) if lifetimes else None,
            gpc_applies=category is CookieCategory.targeting or any(is_gpc_purpose(p) for p in linked_purposes),
            direct_marketing=any(p.direct_marketing for p in linked_purposes),
        )
    purpose_categories: dict[str, list[str]] = {}
    for category_key, linked in category_purposes.items():
        for purpose_id in linked:
            purpose_categories.setdefault(purpose_id, []).append(category_key)

    for topic in declaration.topics_of(controller_id):
        topic_purpose = purposes.get(topic.purpose)
        for channel in topic.channels:
            target = Target.topic(topic.id, channel)
            direct_marketing = bool(topic_purpose and topic_purpose.direct_marketing)
            objection = topic_purpose.objection if topic_purpose else None
            objection_absolute = direct_marketing or bool(objection and objection.absolute)
            by_code[target.code] = TargetRule(
                target=target,
                basis=topic.legal_basis,
                purpose_id=topic.purpose,
                lifetime=topic_purpose.consent.lifetime if topic_purpose and topic_purpose.consent else None,
                direct_marketing=direct_marketing,
                objection_absolute=objection_absolute,
                guardian_required=bool(topic_purpose and topic_purpose.guardian_consent),
            )
    return ControllerRules(
        controller_id=controller_id,
        jurisdiction=controller.jurisdiction,
        consent_age=effective_consent_age(declaration, controller_id),
        by_code=by_code,
        category_purposes={k: tuple(v) for k, v in category_purposes.items()},
        purpose_categories={k: tuple(v) for k, v in purpose_categories.items()},
    )


_RULES_CACHE: dict[tuple[int, str], tuple[Declaration, ControllerRules]] = {}


def rules_for(declaration: Declaration, controller_id: str) -> ControllerRules:
    """``build_rules`` memoised per loaded declaration object (a new load is a new object)."""
    key = (id(declaration), controller_id)
    hit = _RULES_CACHE.get(key)
    if hit is not None and hit[0] is declaration:
        return hit[1]
    rules = build_rules(declaration, controller_id)
    if len(_RULES_CACHE) > 64:
        _RULES_CACHE.clear()
    _RULES_CACHE[key] = (declaration, rules)  # holding the declaration keeps its id from being reused
    return rules


# ------------------------------------------------------------------------------------------------
# recording
# ------------------------------------------------------------------------------------------------
def age_refusal(*, age: int | None, consent_age: int, method: Method, guardian_linked: bool) -> Reason | None:
    """Why a ``given`` event must be recorded as ``refused`` instead, or None when it stands.

    A guardian's consent counts only from a linked guardian and only while the subject is below the
    consent age; a subject whose age is unknown is not refused (the caller knows no birth date).
    """
    if method is Method.guardian:
        if not guardian_linked:
            return Reason.guardian_not_linked
        if age is not None and age >= consent_age:
            return Reason.subject_of_consent_age
        return None
    if age is not None and age < consent_age:
        return Reason.below_consent_age
    return None


def guardian_refusal(
    rule: TargetRule,
    decision: Decision,
    *,
    age: int | None,
    consent_age: int,
    guardians: frozenset[str] | set[str],
    decided_by_guardian: str | None,
) -> Decision:
    """The check's answer for a subject on a purpose the declaration says needs a guardian.

    A child below the consent age (``age``; None when no birth date is known) with no linked guardian is
    refused whatever the legal basis says; on a consent purpose the consent that decides must also be one a
    guardian linked now gave (``decided_by_guardian``: the acting guardian of the deciding event, if any).
    ``guardians`` are the child's linked guardians. Anything else keeps ``decision``.
    """
    if not rule.guardian_required or not decision.allowed or age is None or age >= consent_age:
        return decision
    if not guardians:
        return Decision(False, decision.basis, Reason.guardian_required, decision.event_id)
    if rule.needs_consent and decided_by_guardian not in guardians:
        return Decision(False, decision.basis, Reason.guardian_required, decision.event_id)
    return decision


def validate_event(rule: TargetRule, kind: EventKind) -> None:
    """Refuse an event that has no meaning for the target's legal basis."""
    what = f"{rule.target.kind} {rule.target.key!r}"
    if rule.basis is None:
        raise ValidationFailed(f"{what} is strictly necessary and needs no consent; nothing to record")
    if kind is EventKind.gpc_opt_out and not rule.gpc_applies:
        raise ValidationFailed(f"{what} neither sells, shares nor targets advertising; GPC does not apply to it")
    if kind is EventKind.objection_overruled:
        if rule.objection_absolute:
            raise Conflict(f"an objection to direct marketing is absolute (GDPR Art. 21(3)); {what} stays stopped")
        if not rule.opt_out_basis:
            raise ValidationFailed(f"{what} rests on {rule.basis}; only objections to legitimate interests are weighed")
        return
    if kind is EventKind.expired and not rule.needs_consent:
        raise ValidationFailed(f"{what} rests on {rule.basis}; only consent expires")
    if kind is EventKind.objected and not (rule.needs_consent or rule.opt_out_basis or rule.direct_marketing):
        raise ValidationFailed(
            f"{what} rests on {rule.basis}; an objection applies to legitimate interests, public task "
            "or direct marketing (GDPR Art. 21)"
        )
    if not (rule.needs_consent or rule.opt_out_basis or kind is EventKind.gpc_opt_out):
        raise ValidationFailed(f"{what} rests on {rule.basis}, not consent; there is no {kind} to record")


def opt_out_kind(rule: TargetRule) -> EventKind:
    """The event an unsubscribe or "stop" records: a withdrawal of consent, or an objection."""
    return EventKind.objected if rule.opt_out_basis else EventKind.withdrawn


def expires_at(rule: TargetRule, kind: EventKind, occurred_at: datetime) -> datetime | None:
    if kind is EventKind.given and rule.needs_consent and rule.lifetime is not None:
        return rule.lifetime.after(occurred_at)
    return None


def latest(*states: StateView | None) -> StateView | None:
    """The most recent of several states: by the time the person acted, then by recording order.

    (An imported consent may be recorded after, yet have happened before, one given live.)
    """
    present = [s for s in states if s is not None]
    return max(present, key=lambda s: (s.occurred_at or _EPOCH, s.event_id)) if present else None


# ------------------------------------------------------------------------------------------------
# deciding
# ------------------------------------------------------------------------------------------------
def decide(rule: TargetRule, state: StateView | None, *, now: datetime, gpc: bool = False) -> Decision:
    """May the target be processed for this holder now? ``gpc`` is a ``Sec-GPC: 1`` on the asking request."""
    basis = rule.basis
    if basis is None:
        return Decision(True, None, Reason.not_required)
    if rule.gpc_applies and (gpc or (state is not None and state.status is EventKind.gpc_opt_out)):
        event_id = state.event_id if state is not None and state.status is EventKind.gpc_opt_out else None
        return Decision(False, basis, Reason.gpc_opt_out, event_id)
    if rule.needs_consent:
        return _decide_consent(basis, state, now)
    if rule.opt_out_basis:
        return _decide_opt_out(rule, basis, state)
    return Decision(True, basis, Reason.basis_applies)


_DENIAL = {
    EventKind.withdrawn: Reason.consent_withdrawn,
    EventKind.refused: Reason.consent_refused,
    EventKind.expired: Reason.consent_expired,
    EventKind.objected: Reason.objection,
    EventKind.gpc_opt_out: Reason.gpc_opt_out,
}


def _decide_consent(basis: LegalBasis, state: StateView | None, now: datetime) -> Decision:
    if state is None or state.status is EventKind.objection_overruled:
        return Decision(False, basis, Reason.no_consent, state.event_id if state else None)
    if state.status is EventKind.given:
        if state.expires_at is not None and now >= state.expires_at:
            return Decision(False, basis, Reason.consent_expired, state.event_id)
        return Decision(True, basis, Reason.consent_given, state.event_id)
    return Decision(False, basis, _DENIAL[state.status], state.event_id)


def _decide_opt_out(rule: TargetRule, basis: LegalBasis, state: StateView | None) -> Decision:
    if state is None:
        return Decision(True, basis, Reason.basis_applies)
    status = state.status
    if status is EventKind.objected or (status is EventKind.objection_overruled and rule.objection_absolute):
        reason = Reason.objection_absolute if rule.objection_absolute else Reason.objection
        return Decision(False, basis, reason, state.event_id)
    if status is EventKind.objection_overruled:
        return Decision(True, basis, Reason.compelling_grounds, state.event_id)
    if status in (EventKind.withdrawn, EventKind.refused, EventKind.gpc_opt_out):
        return Decision(False, basis, _DENIAL[status], state.event_id)
    return Decision(True, basis, Reason.basis_applies, state.event_id)


def follow_banner(
    rule: TargetRule, purpose: StateView | None, categories: Sequence[StateView | None], *, now: datetime
) -> Decision:
    """The decision for a purpose whose consent is given through the cookie banner (a cookie of one of its
    categories names it as ``consent_purpose``): the purpose's own latest state, unless a later choice on
    one of its cookie categories refused or withdrew it ("reject all" withdraws the purpose with the cookies).

    ``purpose`` and ``categories`` are the latest states across the subject and the devices linked to them.
    """
    decision = decide(rule, purpose, now=now)
    if not decision.allowed:
        return decision
    after = (purpose.occurred_at or _EPOCH, purpose.event_id) if purpose is not None else (_EPOCH, 0)
    for state in categories:
        if state is None or state.status is EventKind.given:
            continue
        if (state.occurred_at or _EPOCH, state.event_id) > after:
            return Decision(False, rule.basis, _DENIAL.get(state.status, Reason.consent_withdrawn), state.event_id)
    return decision


# ------------------------------------------------------------------------------------------------
# Singapore Do Not Call
# ------------------------------------------------------------------------------------------------
DNC_CHANNELS = frozenset({Channel.sms, Channel.phone})


def dnc_applies(rule: TargetRule) -> bool:
    """Marketing (a "specified message", PDPA s. 37) sent by SMS or voice call."""
    return rule.target.kind is TargetKind.topic and rule.direct_marketing and rule.target.channel in DNC_CHANNELS


def apply_dnc(decision: Decision, state: StateView | None, *, registered: bool | None) -> Decision:
    """Refuse an allowed marketing message to a registered number unless consent is evidenced (s. 43(3)).

    ``registered`` is None when no registry could be asked: the message is refused as unchecked.
    """
    if not decision.allowed or registered is False:
        return decision
    if decision.reason is Reason.consent_given and state is not None and state.evidenced:
        return decision
    reason = Reason.dnc_registered if registered else Reason.dnc_unchecked
    return Decision(False, decision.basis, reason, decision.event_id)
