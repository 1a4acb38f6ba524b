"""What one controller's notice says, resolved into plain localised values.

``build_notice_view`` does every lookup and translation of data (names in the chosen language,
enum labels, durations in words, country names); the templates only lay the result out and add
their own sentences. Nothing here reads files or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dataright.declarations.jurisdictions import Jurisdiction, get_jurisdiction
from dataright.declarations.notice.categories import category_label
from dataright.declarations.notice.citations import cite
from dataright.declarations.notice.facts import recipients_of, systems_of, third_country_transfers
from dataright.declarations.notice.i18n import gettext
from dataright.declarations.notice.labels import label, right_description
from dataright.declarations.notice.words import country, duration, join, localized, long_date
from dataright.declarations.periods import Period
from dataright.declarations.schema import (
    Contact,
    Controller,
    Declaration,
    LegalBasis,
    LegalHold,
    Purpose,
    RetentionRule,
    Right,
    RightsHandling,
    System,
)
from dataright.errors import NotFound, ValidationFailed


@dataclass(frozen=True)
class ContactView:
    name: str = ""
    email: str = ""
    phone: str = ""
    url: str = ""
    address: str = ""


@dataclass(frozen=True)
class ControllerView:
    legal_name: str
    display_name: str
    registration_number: str
    address: str
    country: str
    website: str
    contact: ContactView
    dpo: ContactView | None
    representative: ContactView | None


@dataclass(frozen=True)
class GroupView:
    name: str
    description: str
    parent: str
    members: list[str]
    members_url: str


@dataclass(frozen=True)
class ArrangementView:
    controllers: list[str]
    purposes: list[str]
    contact_point: str
    contact: ContactView
    essence: str
    reference: str


@dataclass(frozen=True)
class CategoryView:
    name: str
    special: bool


@dataclass(frozen=True)
class SourceView:
    type: str
    name: str
    system: str


@dataclass(frozen=True)
class PurposeView:
    id: str
    name: str
    description: str
    legal_basis: str
    citation: str
    legitimate_interest: str
    special_condition: str
    subjects: list[str]
    categories: list[CategoryView]
    sources: list[SourceView]
    recipients: list[str]
    retention: str
    guardian_consent: bool


@dataclass(frozen=True)
class SystemView:
    name: str
    legal_name: str
    role: str
    description: str
    countries: str
    purposes: list[str]


@dataclass(frozen=True)
class RecipientView:
    name: str
    type: str
    description: str
    country: str
    purposes: list[str]


@dataclass(frozen=True)
class TransferView:
    country: str
    recipient: str
    mechanism: str
    reference: str
    note: str


@dataclass(frozen=True)
class RetentionView:
    description: str
    period: str
    trigger: str
    action: str
    purposes: list[str]


@dataclass(frozen=True)
class HoldView:
    description: str
    period: str
    trigger: str
    reference: str


@dataclass(frozen=True)
class RightView:
    name: str
    description: str


@dataclass(frozen=True)
class RightsView:
    rights: list[RightView]
    deadline: str
    extension: str
    extension_notice: str
    reference: str
    fee: str
    verification: str
    channels: list[ContactView]
    note: str
    authority_name: str
    authority: ContactView
    complaint: bool


@dataclass(frozen=True)
class OptOutView:
    purpose: str
    methods: str
    absolute: bool = False


@dataclass(frozen=True)
class TopicView:
    name: str
    description: str
    channels: str
    legal_basis: str
    unsubscribe: str


@dataclass(frozen=True)
class CookieView:
    name: str
    provider: str
    category: str
    duration: str
    purpose: str
    third_party: bool


@dataclass(frozen=True)
class ChildrenView:
    consent_age: int
    statutory_age: int
    reference: str
    scope: str
    """Where the statutory age comes from: ``information_society_services`` (GDPR Art. 8 and the national ages,
    which apply to such services offered directly to a child), ``all_processing`` or ``guidance`` (no law sets
    an age; an authority's guidance does)."""
    subjects: list[str]
    consent_purposes: list[str]
    """Purposes resting on consent for which a guardian consents on a young child's behalf."""
    contract_purposes: list[str]
    """Purposes resting on a contract, which a guardian enters into on a young child's behalf."""


@dataclass(frozen=True)
class AutomatedView:
    purpose: str
    logic: str
    significance: str
    legal_effect: bool


@dataclass(frozen=True)
class ChangeView:
    version: str
    date: str
    summary: str


@dataclass(frozen=True)
class NoticeView:
    lang: str
    organisation: str
    law: str
    law_short: str
    controller: ControllerView
    groups: list[GroupView]
    arrangements: list[ArrangementView]
    purposes: list[PurposeView]
    systems: list[SystemView]
    recipients: list[RecipientView]
    transfers: list[TransferView]
    retention: list[RetentionView]
    holds: list[HoldView]
    rights: RightsView
    consent_withdrawal: list[OptOutView]
    objections: list[OptOutView]
    topics: list[TopicView]
    cookies: list[CookieView]
    children: ChildrenView | None
    automated: list[AutomatedView]
    version: str
    effective_date: str
    history: list[ChangeView]
    change_notification: str
    security: str


def check_publishable(declaration: Declaration, controller_id: str, lang: str) -> Controller:
    """The controller, if it exists and publishes in ``lang``; otherwise a clear error."""
    controller = declaration.controller_by_id.get(controller_id)
    if controller is None:
        known = ", ".join(c.id for c in declaration.controllers)
        raise NotFound(f"unknown controller {controller_id!r}; this declaration has: {known}")
    if lang not in controller.languages:
        published = ", ".join(controller.languages)
        raise ValidationFailed(
            f"controller {controller_id!r} does not publish in {lang!r}; its languages are: {published}"
        )
    return controller


def build_notice_view(declaration: Declaration, controller_id: str, lang: str) -> NoticeView:
    controller = check_publishable(declaration, controller_id, lang)
    return _Builder(declaration, controller, lang).build()


class _Builder:
    def __init__(self, declaration: Declaration, controller: Controller, lang: str) -> None:
        self.d = declaration
        self.c = controller
        self.lang = lang
        self.pack: Jurisdiction = get_jurisdiction(controller.jurisdiction)
        self.fallback = declaration.organisation.default_language
        self.purposes = declaration.purposes_of(controller.id)
        self.handling: RightsHandling = declaration.rights_of(controller.id)

    # -- small helpers -----------------------------------------------------------------------
    def t(self, text: Mapping[Any, str] | str | None) -> str:
        return localized(text, self.lang, self.fallback)

    def _(self, message: str) -> str:
        return gettext(self.lang, message)

    def contact(self, contact: Contact | None) -> ContactView | None:
        if contact is None:
            return None
        return ContactView(
            name=self.t(contact.name),
            email=contact.email or "",
            phone=contact.phone or "",
            url=contact.url or "",
            address=self.t(contact.address),
        )

    def controller_name(self, controller_id: str) -> str:
        other = self.d.controller_by_id.get(controller_id)
        return other.legal_name if other else controller_id

    def purpose_name(self, purpose_id: str) -> str:
        purpose = self.d.purpose_by_id.get(purpose_id)
        return self.t(purpose.name) if purpose else purpose_id

    def category_name(self, key: str) -> str:
        custom = self.d.category_by_id.get(key)
        if custom is not None:
            return self.t(custom.name)
        return category_label(key, self.lang)

    def names_for(self, purposes: Iterable[Purpose]) -> list[str]:
        return [self.t(p.name) for p in purposes]

    # -- sections ----------------------------------------------------------------------------
    def build(self) -> NoticeView:
        meta = self.d.notice
        return NoticeView(
            lang=self.lang,
            organisation=self.d.organisation.name,
            law=self.t(self.pack.name),
            law_short=self.t(self.pack.law_short),
            controller=self.who(),
            groups=self.groups(),
            arrangements=self.arrangements(),
            purposes=[self.purpose(p) for p in self.purposes],
            systems=self.systems(),
            recipients=self.recipient_categories(),
            transfers=self.transfers(),
            retention=self.retention(),
            holds=self.holds(),
            rights=self.rights(),
            consent_withdrawal=self.consent_withdrawal(),
            objections=self.objections(),
            topics=self.topics(),
            cookies=self.cookies(),
            children=self.children(),
            automated=self.automated(),
            version=meta.version or "",
            effective_date=long_date(meta.effective_date, self.lang),
            history=[
                ChangeView(h.version or "", long_date(h.date, self.lang), self.t(h.summary)) for h in meta.history
            ],
            change_notification=self.t(meta.change_notification),
            security=self.t(self.c.security_measures),
        )

    def who(self) -> ControllerView:
        c = self.c
        return ControllerView(
            legal_name=c.legal_name,
            display_name=c.display_name if c.display_name and c.display_name != c.legal_name else "",
            registration_number=c.registration_number or "",
            address=self.t(c.address),
            country=country(c.country, self.lang),
            website=c.website or "",
            contact=self.contact(c.contact) or ContactView(),
            dpo=self.contact(c.dpo),
            representative=self.contact(c.representative),
        )

    def groups(self) -> list[GroupView]:
        return [
            GroupView(
                name=self.t(g.name),
                description=self.t(g.description),
                parent=self.controller_name(g.parent) if g.parent else "",
                members=[self.controller_name(m) for m in g.members],
                members_url=g.members_url or "",
            )
            for g in self.d.groups
            if self.c.id in g.members or g.parent == self.c.id
        ]

    def arrangements(self) -> list[ArrangementView]:
        out = []
        for a in self.d.joint_arrangements:
            if self.c.id not in a.controllers:
                continue
            point = self.d.controller_by_id.get(a.contact_point)
            out.append(
                ArrangementView(
                    controllers=[self.controller_name(x) for x in a.controllers],
                    purposes=[self.purpose_name(p) for p in a.purposes],
                    contact_point=self.controller_name(a.contact_point),
                    contact=(self.contact(point.contact) if point else None) or ContactView(),
                    essence=self.t(a.essence),
                    reference=self.t(a.reference),
                )
            )
        return out

    def purpose(self, p: Purpose) -> PurposeView:
        rules = [self.d.retention_by_id[r] for r in p.retention_ids if r in self.d.retention_by_id]
        return PurposeView(
            id=p.id,
            name=self.t(p.name),
            description=self.t(p.description),
            legal_basis=label(p.legal_basis, self.lang) if p.legal_basis else "",
            citation=cite(self.pack.citation(p.legal_basis), self.pack, self.lang) if p.legal_basis else "",
            legitimate_interest=self.t(p.legitimate_interest),
            special_condition=label(p.special_category_condition, self.lang) if p.special_category_condition else "",
            subjects=[self.t(self.d.subject_by_id[s].name) for s in p.data_subjects if s in self.d.subject_by_id],
            categories=[CategoryView(self.category_name(k), self.d.is_special(k)) for k in p.data_categories],
            sources=[
                SourceView(
                    type=label(s.type, self.lang),
                    name=self.t(s.name),
                    system=self.t(self.d.system_by_id[s.system].name) if s.system in self.d.system_by_id else "",
                )
                for s in p.sources
            ],
            recipients=[self.recipient_name(r) for r in p.recipients],
            retention=" ".join(self.t(rule.description) for rule in rules),
            guardian_consent=p.guardian_consent,
        )

    def recipient_name(self, key: str) -> str:
        if key in self.d.system_by_id:
            return self.t(self.d.system_by_id[key].name)
        if key in self.d.recipient_by_id:
            return self.t(self.d.recipient_by_id[key].name)
        return key

    def used_systems(self) -> list[System]:
        """Systems that receive data for this controller: purposes' recipients and third-party cookies."""
        cookie_systems = [self.d.system_by_id[k.system] for k in self.d.cookies_of(self.c.id) if k.system]
        return list({s.id: s for s in (*systems_of(self.d, self.purposes), *cookie_systems)}.values())

    def systems(self) -> list[SystemView]:
        return [
            SystemView(
                name=self.t(s.name),
                legal_name=s.legal_name if s.legal_name and s.legal_name != s.name else "",
                role=label(s.role, self.lang),
                description=self.t(s.description),
                countries=join((country(x, self.lang) for x in s.countries), self.lang),
                purposes=self.names_for(p for p in self.purposes if s.id in p.recipients),
            )
            for s in self.used_systems()
        ]

    def recipient_categories(self) -> list[RecipientView]:
        return [
            RecipientView(
                name=self.t(r.name),
                type=label(r.type, self.lang),
                description=self.t(r.description),
                country=country(r.country, self.lang) if r.country else "",
                purposes=self.names_for(p for p in self.purposes if r.id in p.recipients),
            )
            for r in recipients_of(self.d, self.purposes)
        ]

    def transfers(self) -> list[TransferView]:
        facts = third_country_transfers(
            self.pack, self.used_systems(), recipients_of(self.d, self.purposes), self.purposes
        )
        views = [
            TransferView(
                country=country(f.country, self.lang),
                recipient=self.t(f.via.name),
                mechanism=label(f.mechanism, self.lang) if f.mechanism else "",
                reference=self.t(f.declared.reference or f.declared.derogation) if f.declared else "",
                note=self.t(f.declared.note) if f.declared else "",
            )
            for f in facts
        ]
        return sorted(views, key=lambda v: (v.country, v.recipient))

    def retention_rules(self) -> list[RetentionRule]:
        """Rules this controller's purposes use, and rules no purpose names (they apply to everyone)."""
        used_anywhere = {r for p in self.d.purposes for r in p.retention_ids}
        mine = {r for p in self.purposes for r in p.retention_ids}
        return [r for r in self.d.retention_rules if r.id in mine or r.id not in used_anywhere]

    def retention(self) -> list[RetentionView]:
        return [
            RetentionView(
                description=self.t(r.description),
                period=duration(r.duration, self.lang),
                trigger=label(r.trigger, self.lang),
                action=label(r.action, self.lang) if r.action else "",
                purposes=self.names_for(p for p in self.purposes if r.id in p.retention_ids),
            )
            for r in self.retention_rules()
        ]

    def legal_holds(self) -> list[LegalHold]:
        used_anywhere = {h for p in self.d.purposes for h in p.legal_holds}
        mine = {h for p in self.purposes for h in p.legal_holds}
        return [
            h
            for h in self.d.legal_holds
            if h.binds(self.c.id)
            and (h.id in mine or (h.id not in used_anywhere and h.jurisdiction in (None, self.c.jurisdiction)))
        ]

    def holds(self) -> list[HoldView]:
        return [
            HoldView(
                description=self.t(h.description),
                period=duration(h.duration, self.lang),
                trigger=label(h.trigger, self.lang),
                reference=self.t(h.reference),
            )
            for h in self.legal_holds()
        ]

    def rights(self) -> RightsView:
        h = self.handling
        rule = self.pack.response
        deadline = _stricter(rule.deadline, h.response_time)
        # A controller that promises its own deadline and declares no extension offers none: the notice must not
        # add the law's (NexaLearn: "senest innen 30 dager").
        promises_no_extension = h.response_time is not None and h.extension is None
        extension = _stricter(rule.extension, h.extension) if rule.extension and not promises_no_extension else None
        authority = self.c.supervisory_authority or self.pack.authority
        channels = [self.contact(x) or ContactView() for x in h.channels] or [
            self.contact(self.c.contact) or ContactView()
        ]
        # The law's list is a floor, never a filter: a right the controller offers beyond its law is shown too.
        rights = [r for r in Right if r in self.pack.rights or r in h.rights]
        return RightsView(
            rights=[RightView(label(r, self.lang), right_description(r, self.lang)) for r in rights],
            deadline=duration(deadline, self.lang, words=True),
            extension=duration(extension, self.lang, words=True) if extension else "",
            extension_notice=duration(rule.extension_notice_within, self.lang, words=True)
            if rule.extension_notice_within and (extension or rule.extension is None)
            else "",
            reference=cite(rule.reference, self.pack, self.lang),
            fee=label(h.fee, self.lang),
            verification=join((label(v, self.lang) for v in h.identity_verification), self.lang, "or"),
            channels=channels,
            note=self.t(h.note),
            authority_name=self.t(authority.name),
            authority=ContactView(url=authority.url or "", email=authority.email or ""),
            complaint=Right.complaint in rights,
        )

    def consent_withdrawal(self) -> list[OptOutView]:
        return [
            OptOutView(
                self.t(p.name),
                join((label(m, self.lang) for m in (p.consent.withdrawal if p.consent else ())), self.lang, "or"),
            )
            for p in self.purposes
            if p.legal_basis == LegalBasis.consent or p.consent is not None
        ]

    def objections(self) -> list[OptOutView]:
        return [
            OptOutView(
                self.t(p.name),
                join((label(m, self.lang) for m in (p.objection.methods if p.objection else ())), self.lang, "or"),
                absolute=(p.objection.absolute if p.objection else False) or p.direct_marketing,
            )
            for p in self.purposes
            if p.objection is not None or p.legal_basis == LegalBasis.legitimate_interests
        ]

    def topics(self) -> list[TopicView]:
        return [
            TopicView(
                name=self.t(t.name),
                description=self.t(t.description),
                channels=join((label(c, self.lang) for c in t.channels), self.lang),
                legal_basis=label(t.legal_basis, self.lang),
                unsubscribe=join((label(m, self.lang) for m in t.unsubscribe), self.lang, "or"),
            )
            for t in self.d.topics_of(self.c.id)
        ]

    def cookies(self) -> list[CookieView]:
        return [
            CookieView(
                name=k.name,
                provider=self.t(k.provider),
                category=label(k.category, self.lang),
                duration=duration(k.duration, self.lang)
                if isinstance(k.duration, Period)
                else self._("Until you close the browser"),
                purpose=self.t(k.purpose),
                third_party=not k.first_party,
            )
            for k in self.d.cookies_of(self.c.id)
        ]

    def children(self) -> ChildrenView | None:
        child_purposes = [p for p in self.purposes if self.d.is_child_purpose(p)]
        if not child_purposes and self.handling.consent_age is None:
            return None
        subjects = dict.fromkeys(
            self.t(self.d.subject_by_id[s].name)
            for p in child_purposes
            for s in p.data_subjects
            if s in self.d.subject_by_id and self.d.subject_by_id[s].child
        )
        guarded = [p for p in self.purposes if p.guardian_consent and self.d.is_child_purpose(p)]
        return ChildrenView(
            consent_age=self.pack.consent_age(self.handling.consent_age),
            statutory_age=self.pack.child_consent_age,
            reference=cite(self.pack.child_consent_reference, self.pack, self.lang),
            scope=self.pack.child_consent_scope,
            subjects=list(subjects),
            # A guardian acts for the child only where the child would: consenting, or entering into a contract.
            # Legitimate interests and legal obligations need no one's agreement, so no guardian "acts" there.
            consent_purposes=self.names_for(p for p in guarded if p.legal_basis in _CONSENT_BASES),
            contract_purposes=self.names_for(p for p in guarded if p.legal_basis == LegalBasis.contract),
        )

    def automated(self) -> list[AutomatedView]:
        return [
            AutomatedView(
                purpose=self.t(p.name),
                logic=self.t(adm.logic),
                significance=self.t(adm.significance),
                legal_effect=adm.legal_effect,
            )
            for p in self.purposes
            if (adm := p.automated_decision_making) is not None
        ]


_CONSENT_BASES = (LegalBasis.consent, LegalBasis.deemed_consent)


def _stricter(statutory: Period | None, own: Period | None) -> Period:
    """The shorter of the law's period and the controller's own promise (the law's when none is promised)."""
    if statutory is None:
        if own is None:
            raise ValueError("no period to compare")
        return own
    if own is None or own.approx_days() >= statutory.approx_days():
        return statutory
    return own
