"""The record of processing activities (GDPR Art. 30(1)) as rows: one per (controller, purpose).

Every column of Art. 30(1)(a)-(g) is filled for every row. Where the law makes a field optional
(a DPO, a representative, joint controllers, transfers) and the declaration has none, the cell says
"none"; where the declaration lacks something Art. 30 asks for, it says "not declared", so a gap is
visible to whoever reads the record rather than an empty cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.notice.categories import category_label
from dataright.declarations.notice.facts import recipients_of, systems_of, third_country_transfers
from dataright.declarations.notice.i18n import N_, gettext
from dataright.declarations.notice.labels import label
from dataright.declarations.notice.words import country, duration, join, localized
from dataright.declarations.schema import Contact, Controller, Declaration, Purpose, System


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # English msgid
    article: str  # the Art. 30(1) point it answers, "" for identifiers

    def heading(self, lang: str) -> str:
        text = gettext(lang, self.label)
        return f"{text} [{self.article}]" if self.article else text


COLUMNS: tuple[Column, ...] = (
    Column("controller_id", N_("Controller id"), ""),
    Column("purpose_id", N_("Purpose id"), ""),
    Column("controller", N_("Controller"), "Art. 30(1)(a)"),
    Column("controller_contact", N_("Controller contact details"), "Art. 30(1)(a)"),
    Column("joint_controllers", N_("Joint controllers"), "Art. 30(1)(a)"),
    Column("representative", N_("Representative"), "Art. 30(1)(a)"),
    Column("dpo", N_("Data protection officer"), "Art. 30(1)(a)"),
    Column("purpose", N_("Purpose of the processing"), "Art. 30(1)(b)"),
    Column("legal_basis", N_("Legal basis"), "Art. 6(1), 9(2)"),
    Column("data_subjects", N_("Categories of data subjects"), "Art. 30(1)(c)"),
    Column("personal_data", N_("Categories of personal data"), "Art. 30(1)(c)"),
    Column("recipients", N_("Categories of recipients"), "Art. 30(1)(d)"),
    Column("transfers", N_("Transfers to third countries and safeguards"), "Art. 30(1)(e)"),
    Column("retention", N_("Time limits for erasure"), "Art. 30(1)(f)"),
    Column("security_measures", N_("Technical and organisational security measures"), "Art. 30(1)(g)"),
)

NONE = N_("none")
NOT_DECLARED = N_("not declared")


def build_record(declaration: Declaration, lang: str = "en") -> list[dict[str, str]]:
    """The rows of the record, each a mapping from column key (``COLUMNS``) to its text in ``lang``."""
    rows = []
    for controller in declaration.controllers:
        for purpose in declaration.purposes_of(controller.id):
            rows.append(_Row(declaration, controller, purpose, lang).cells())
    return rows


class _Row:
    def __init__(self, declaration: Declaration, controller: Controller, purpose: Purpose, lang: str) -> None:
        self.d = declaration
        self.c = controller
        self.p = purpose
        self.lang = lang
        self.pack = get_jurisdiction(controller.jurisdiction)

    def _(self, message: str) -> str:
        return gettext(self.lang, message)

    def pair(self, msgid: str, value: str) -> str:
        """``Label: value`` with the label translated."""
        return f"{self._(msgid)}: {value}"

    def t(self, text: Mapping[Any, str] | None) -> str:
        return localized(text, self.lang, self.d.organisation.default_language)

    def contact(self, contact: Contact | None) -> str:
        if contact is None:
            return ""
        return "; ".join(x for x in (contact.name, contact.address, contact.email, contact.phone, contact.url) if x)

    def cells(self) -> dict[str, str]:
        cells = {
            "controller_id": self.c.id,
            "purpose_id": self.p.id,
            "controller": self.controller(),
            "controller_contact": self.contact(self.c.contact) or self._(NOT_DECLARED),
            "joint_controllers": self.joint_controllers() or self._(NONE),
            "representative": self.contact(self.c.representative) or self._(NONE),
            "dpo": self.contact(self.c.dpo) or self._(NONE),
            "purpose": f"{self.t(self.p.name)}: {self.t(self.p.description)}",
            "legal_basis": self.legal_basis() or self._(NOT_DECLARED),
            "data_subjects": "; ".join(self.t(self.d.subject_by_id[s].name) for s in self.p.data_subjects),
            "personal_data": self.personal_data(),
            "recipients": self.recipients() or self._(NONE),
            "transfers": self.transfers() or self._(NONE),
            "retention": self.retention() or self._(NOT_DECLARED),
            "security_measures": self.t(self.c.security_measures) or self._(NOT_DECLARED),
        }
        return {column.key: cells[column.key] for column in COLUMNS}

    def controller(self) -> str:
        parts = [self.c.legal_name]
        if self.c.registration_number:
            parts.append(self.pair(N_("Registration number"), self.c.registration_number))
        if self.c.address:
            parts.append(self.c.address)
        parts.append(country(self.c.country, self.lang))
        return "; ".join(parts)

    def joint_controllers(self) -> str:
        out = []
        for a in self.d.joint_arrangements:
            if self.c.id not in a.controllers or self.p.id not in a.purposes:
                continue
            others = [self.d.controller_by_id[x].legal_name for x in a.controllers if x != self.c.id]
            point = self.d.controller_by_id[a.contact_point]
            contact_point = self.pair(N_("Contact point"), point.legal_name)
            text = f"{join(others, self.lang)} ({contact_point}"
            text += f", {point.contact.email}" if point.contact.email else ""
            text += f"; {a.reference}" if a.reference else ""
            out.append(text + f"): {self.t(a.essence)}")
        return " | ".join(out)

    def legal_basis(self) -> str:
        if self.p.legal_basis is None:
            return ""
        citation = self.pack.citation(self.p.legal_basis)
        law = self.t(self.pack.law_short)
        text = label(self.p.legal_basis, self.lang) + (f" ({law} {citation})" if citation else "")
        if self.p.legitimate_interest:
            text += "; " + self.pair(N_("Our legitimate interest"), self.t(self.p.legitimate_interest))
        if self.p.special_category_condition:
            condition = label(self.p.special_category_condition, self.lang)
            text += "; " + self.pair(N_("Condition for special categories of personal data"), condition)
        return text

    def personal_data(self) -> str:
        names = []
        for key in self.p.data_categories:
            custom = self.d.category_by_id.get(key)
            name = self.t(custom.name) if custom else category_label(key, self.lang)
            special = self._("special category of personal data") if self.d.is_special(key) else ""
            special = f" ({special})" if special else ""
            names.append(name + special)
        return "; ".join(names)

    def recipients(self) -> str:
        out = []
        for s in systems_of(self.d, [self.p]):
            name = s.name + (f" ({s.legal_name})" if s.legal_name and s.legal_name != s.name else "")
            where = join((country(x, self.lang) for x in s.countries), self.lang)
            out.append(f"{name}: {label(s.role, self.lang)}; {where}")
        for r in recipients_of(self.d, [self.p]):
            where = f"; {country(r.country, self.lang)}" if r.country else ""
            out.append(f"{self.t(r.name)}: {label(r.type, self.lang)}{where}")
        return " | ".join(out)

    def transfers(self) -> str:
        facts = third_country_transfers(
            self.pack, systems_of(self.d, [self.p]), recipients_of(self.d, [self.p]), [self.p]
        )
        out = []
        for f in facts:
            via = f.via.name if isinstance(f.via, System) else self.t(f.via.name)
            mechanism = label(f.mechanism, self.lang) if f.mechanism else self._("no safeguard declared")
            reference = (f.declared.reference or f.declared.derogation or "") if f.declared else ""
            out.append(
                f"{country(f.country, self.lang)} ({via}): {mechanism}" + (f", {reference}" if reference else "")
            )
        return " | ".join(sorted(out))

    def retention(self) -> str:
        out = []
        for rule_id in self.p.retention_ids:
            rule = self.d.retention_by_id[rule_id]
            counted = self.pair(N_("counted from"), label(rule.trigger, self.lang))
            text = f"{duration(rule.duration, self.lang)}, {counted}"
            if rule.action:
                text += ", " + self.pair(N_("then"), label(rule.action, self.lang))
            out.append(f"{text}. {self.t(rule.description)}")
        for key in self.p.legal_holds:
            hold = self.d.hold_by_id[key]
            if not hold.binds(self.c.id):
                continue
            counted = self.pair(N_("counted from"), label(hold.trigger, self.lang))
            period = f"{duration(hold.duration, self.lang)}, {counted} ({hold.reference})"
            out.append(self.pair(N_("Legal hold"), period) + f". {self.t(hold.description)}")
        return " | ".join(out)
