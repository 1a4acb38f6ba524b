"""The record of processing activities, built from the declaration under the frame of the controller's law.

What a record holds, and which provision asks for each field, is law as data: the jurisdiction pack's
``record`` frame (GDPR Art. 30(1) for the GDPR packs; for the PDPA, which prescribes no record, an inventory
citing the obligations each field documents). A field the law does not know is left out.

Two shapes come out of one walk over the declaration:

* ``build_document``: structured data for JSON, one object per controller with its activities; lists are
  lists, absent things are ``null`` or ``[]``, every value a reader sees is in the chosen language beside
  the stable key it comes from.
* ``build_record``: flat rows for CSV and Excel, one per (controller, purpose). Where the law makes a field
  optional and the declaration has none, the cell says "none"; where the declaration lacks something the
  record asks for, it says "not declared", so a gap is visible rather than an empty cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dataright.declarations.jurisdictions import RECORD_FIELDS, Jurisdiction, RecordFrame, get_jurisdiction
from dataright.declarations.notice.categories import category_label
from dataright.declarations.notice.citations import cite
from dataright.declarations.notice.facts import recipients_of, systems_of, third_country_transfers
from dataright.declarations.notice.i18n import N_, gettext
from dataright.declarations.notice.labels import label
from dataright.declarations.notice.words import country, duration, join, localized
from dataright.declarations.schema import Contact, Controller, Declaration, Purpose
from dataright.errors import ValidationFailed

Json = dict[str, Any]


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # English msgid

    def text(self, lang: str, frame: RecordFrame | None = None) -> str:
        """The field's name in ``lang``: the frame's own name for it under its law, else the common one."""
        own = frame.labels.get(self.key) if frame is not None else None
        return localized(own, lang) if own else gettext(lang, self.label)

    def heading(self, lang: str, frame: RecordFrame | None = None) -> str:
        text = self.text(lang, frame)
        reference = localized(frame.fields.get(self.key), lang) if frame is not None else ""
        return f"{text} [{reference}]" if reference else text


IDS: tuple[Column, ...] = (
    Column("controller_id", N_("Controller id")),
    Column("purpose_id", N_("Purpose id")),
)
FIELDS: tuple[Column, ...] = (
    Column("controller", N_("Controller")),
    Column("controller_contact", N_("Controller contact details")),
    Column("joint_controllers", N_("Joint controllers")),
    Column("representative", N_("Representative")),
    Column("dpo", N_("Data protection officer")),
    Column("purpose", N_("Purpose of the processing")),
    Column("legal_basis", N_("Legal basis")),
    Column("data_subjects", N_("Categories of data subjects")),
    Column("personal_data", N_("Categories of personal data")),
    Column("recipients", N_("Categories of recipients")),
    Column("transfers", N_("Transfers to third countries and safeguards")),
    Column("retention", N_("Time limits for erasure")),
    Column("security_measures", N_("Technical and organisational security measures")),
)
assert tuple(c.key for c in FIELDS) == RECORD_FIELDS
COLUMNS: tuple[Column, ...] = IDS + FIELDS
"""Every column a record can have; a frame keeps the ids and the fields its law knows (``columns_for``)."""

NONE = N_("none")
NOT_DECLARED = N_("not declared")


def columns_for(frame: RecordFrame) -> tuple[Column, ...]:
    return IDS + tuple(c for c in FIELDS if c.key in frame.fields)


def default_frame() -> RecordFrame:
    return get_jurisdiction("gdpr").record


def headings(lang: str = "en", frame: RecordFrame | None = None) -> list[str]:
    """The column headings in ``lang``, each citing the provision of ``frame`` (default: GDPR Art. 30)."""
    frame = frame or default_frame()
    return [column.heading(lang, frame) for column in columns_for(frame)]


def _controllers(declaration: Declaration, controller_id: str | None) -> list[Controller]:
    if controller_id is None:
        return list(declaration.controllers)
    if controller_id not in declaration.controller_by_id:
        known = ", ".join(c.id for c in declaration.controllers)
        raise ValidationFailed(f"--controller: unknown controller {controller_id!r}; this declaration has: {known}")
    return [declaration.controller_by_id[controller_id]]


def record_frame(declaration: Declaration, controller_id: str | None = None) -> RecordFrame:
    """The one frame the chosen controllers' records share; a table cannot mix two laws' columns."""
    frames: dict[str, RecordFrame] = {}
    for controller in _controllers(declaration, controller_id):
        frames.setdefault(controller.jurisdiction, get_jurisdiction(controller.jurisdiction).record)
    distinct: list[RecordFrame] = []
    for frame in frames.values():
        if frame not in distinct:
            distinct.append(frame)
    if len(distinct) > 1:
        raise ValidationFailed(
            "--controller: the controllers keep their records under different laws "
            f"({', '.join(sorted(frames))}); choose one controller for a table, or write JSON"
        )
    return distinct[0]


def build_document(declaration: Declaration, lang: str = "en", controller_id: str | None = None) -> Json:
    """The record as structured data: ``{"language", "organisation", "controllers": [...]}``."""
    return {
        "language": lang,
        "organisation": {"id": declaration.organisation.id, "name": declaration.organisation.name},
        "controllers": [
            _Record(declaration, controller, lang).document() for controller in _controllers(declaration, controller_id)
        ],
    }


def build_record(declaration: Declaration, lang: str = "en", controller_id: str | None = None) -> list[dict[str, str]]:
    """The rows of the record, each a mapping from column key (``columns_for`` the frame) to its text in ``lang``."""
    frame = record_frame(declaration, controller_id)
    keys = [c.key for c in columns_for(frame)]
    rows = []
    for controller in _controllers(declaration, controller_id):
        record = _Record(declaration, controller, lang)
        for purpose in declaration.purposes_of(controller.id):
            cells = record.cells(purpose)
            rows.append({key: cells[key] for key in keys})
    return rows


def _keyed(value: StrEnum, lang: str) -> Json:
    return {"key": value.value, "label": label(value, lang)}


def _contact(contact: Contact | None) -> Json | None:
    if contact is None:
        return None
    fields = {k: getattr(contact, k) for k in ("name", "address", "email", "phone", "url")}
    return fields if any(fields.values()) else None


def _text(value: object, lang: str, fallback: str) -> str | None:
    """A declared text that may be a plain string or a map of languages."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return localized(value, lang, fallback) or None
    return str(value)


class _Record:
    """One controller's record in one language: structured (``document``) and as table cells (``cells``)."""

    def __init__(self, declaration: Declaration, controller: Controller, lang: str) -> None:
        self.d = declaration
        self.c = controller
        self.lang = lang
        self.pack: Jurisdiction = get_jurisdiction(controller.jurisdiction)
        self.frame = self.pack.record

    def _(self, message: str) -> str:
        return gettext(self.lang, message)

    def t(self, text: object) -> str:
        return _text(text, self.lang, self.d.organisation.default_language) or ""

    def has(self, field: str) -> bool:
        return field in self.frame.fields

    # -- structured ---------------------------------------------------------------------------------
    def document(self) -> Json:
        c = self.c
        out: Json = {
            "id": c.id,
            "law": {
                "jurisdiction": self.pack.id,
                "name": self.t(self.pack.name),
                "record": self.t(self.frame.title),
                "reference": self.t(self.frame.reference),
                "fields": {
                    column.key: {
                        "label": column.text(self.lang, self.frame),
                        "reference": self.t(self.frame.fields[column.key]) or None,
                    }
                    for column in FIELDS
                    if self.has(column.key)
                },
            },
        }
        if self.has("controller"):
            out["controller"] = {
                "name": c.legal_name,
                "registration_number": c.registration_number,
                "address": c.address,
                "country": {"code": c.country, "name": country(c.country, self.lang)},
            }
        for field, value in (
            ("controller_contact", c.contact),
            ("representative", c.representative),
            ("dpo", c.dpo),
        ):
            if self.has(field):
                out[field] = _contact(value)
        if self.has("security_measures"):
            out["security_measures"] = self.t(c.security_measures) or None
        out["activities"] = [self.activity(p) for p in self.d.purposes_of(c.id)]
        return out

    def activity(self, p: Purpose) -> Json:
        fields: dict[str, Any] = {
            "purpose": {"id": p.id, "name": self.t(p.name), "description": self.t(p.description)},
            "joint_controllers": self.joint_controllers(p),
            "legal_basis": self.legal_basis(p),
            "data_subjects": [{"id": s, "name": self.t(self.d.subject_by_id[s].name)} for s in p.data_subjects],
            "personal_data": self.personal_data(p),
            "recipients": self.recipients(p),
            "transfers": self.transfers(p),
            "retention": self.retention(p),
        }
        out: Json = {"purpose_id": p.id}
        out.update({k: v for k, v in fields.items() if self.has(k)})
        if self.has("retention"):
            out["legal_holds"] = self.legal_holds(p)
        return out

    def joint_controllers(self, p: Purpose) -> list[Json]:
        out = []
        for a in self.d.joint_arrangements:
            if self.c.id not in a.controllers or p.id not in a.purposes:
                continue
            point = self.d.controller_by_id[a.contact_point]
            out.append(
                {
                    "controllers": [self.d.controller_by_id[x].legal_name for x in a.controllers if x != self.c.id],
                    "contact_point": {"id": point.id, "name": point.legal_name, "email": point.contact.email},
                    "reference": a.reference,
                    "essence": self.t(a.essence),
                }
            )
        return out

    def legal_basis(self, p: Purpose) -> Json | None:
        if p.legal_basis is None:
            return None
        condition = p.special_category_condition
        return {
            **_keyed(p.legal_basis, self.lang),
            "law": self.t(self.pack.law_short),
            "citation": cite(self.pack.citation(p.legal_basis), self.pack, self.lang) or None,
            "legitimate_interest": self.t(p.legitimate_interest) or None,
            "special_category_condition": _keyed(condition, self.lang) if condition else None,
        }

    def personal_data(self, p: Purpose) -> list[Json]:
        out = []
        for key in p.data_categories:
            custom = self.d.category_by_id.get(key)
            name = self.t(custom.name) if custom else category_label(key, self.lang)
            out.append({"key": key, "name": name, "special": self.d.is_special(key)})
        return out

    def _countries(self, codes: Iterable[str]) -> list[Json]:
        return [{"code": code, "name": country(code, self.lang)} for code in codes]

    def recipients(self, p: Purpose) -> list[Json]:
        out: list[Json] = []
        for s in systems_of(self.d, [p]):
            out.append(
                {
                    "kind": "system",
                    "id": s.id,
                    "name": self.t(s.name),
                    "legal_name": self.t(s.legal_name) if s.legal_name and s.legal_name != s.name else None,
                    "role": _keyed(s.role, self.lang),
                    "countries": self._countries(s.countries),
                }
            )
        for r in recipients_of(self.d, [p]):
            out.append(
                {
                    "kind": "recipient",
                    "id": r.id,
                    "name": self.t(r.name),
                    "legal_name": None,
                    "role": _keyed(r.type, self.lang),
                    "countries": self._countries([r.country] if r.country else []),
                }
            )
        return out

    def transfers(self, p: Purpose) -> list[Json]:
        facts = third_country_transfers(self.pack, systems_of(self.d, [p]), recipients_of(self.d, [p]), [p])
        out = []
        for f in facts:
            declared = f.declared
            out.append(
                {
                    "country": {"code": f.country, "name": country(f.country, self.lang)},
                    "via": self.t(f.via.name),
                    "mechanism": _keyed(f.mechanism, self.lang) if f.mechanism else None,
                    "reference": (self.t(declared.reference) or self.t(declared.derogation) or None)
                    if declared
                    else None,
                }
            )
        return sorted(out, key=lambda x: (x["country"]["name"], x["via"]))

    def retention(self, p: Purpose) -> list[Json]:
        out = []
        for rule_id in p.retention_ids:
            rule = self.d.retention_by_id[rule_id]
            out.append(
                {
                    "id": rule.id,
                    "period": str(rule.duration),
                    "duration": duration(rule.duration, self.lang),
                    "counted_from": _keyed(rule.trigger, self.lang),
                    "then": _keyed(rule.action, self.lang) if rule.action else None,
                    "description": self.t(rule.description),
                }
            )
        return out

    def legal_holds(self, p: Purpose) -> list[Json]:
        out = []
        for key in p.legal_holds:
            hold = self.d.hold_by_id[key]
            if hold.binds(self.c.id):
                out.append(
                    {
                        "id": hold.id,
                        "period": str(hold.duration),
                        "duration": duration(hold.duration, self.lang),
                        "counted_from": _keyed(hold.trigger, self.lang),
                        "reference": hold.reference,
                        "description": self.t(hold.description),
                    }
                )
        return out

    # -- table cells ----------------------------------------------------------------------------------
    def pair(self, msgid: str, value: str) -> str:
        """``Label: value`` with the label translated."""
        return f"{self._(msgid)}: {value}"

    def cells(self, p: Purpose) -> dict[str, str]:
        """The row of ``p``: the structured activity flattened to text."""
        a = self.activity(p)
        c = self.c
        cells = {
            "controller_id": c.id,
            "purpose_id": p.id,
            "controller": self.controller_cell(),
            "controller_contact": self.contact_cell(c.contact) or self._(NOT_DECLARED),
            "representative": self.contact_cell(c.representative) or self._(NONE),
            "dpo": self.contact_cell(c.dpo) or self._(NONE),
            "purpose": f"{self.t(p.name)}: {self.t(p.description)}",
            "security_measures": self.t(c.security_measures) or self._(NOT_DECLARED),
        }
        if self.has("joint_controllers"):
            cells["joint_controllers"] = self.joint_cell(a["joint_controllers"]) or self._(NONE)
        if self.has("legal_basis"):
            cells["legal_basis"] = self.basis_cell(a["legal_basis"]) or self._(NOT_DECLARED)
        if self.has("data_subjects"):
            cells["data_subjects"] = "; ".join(s["name"] for s in a["data_subjects"])
        if self.has("personal_data"):
            cells["personal_data"] = self.data_cell(a["personal_data"])
        if self.has("recipients"):
            cells["recipients"] = self.recipients_cell(a["recipients"]) or self._(NONE)
        if self.has("transfers"):
            cells["transfers"] = self.transfers_cell(a["transfers"]) or self._(NONE)
        if self.has("retention"):
            cells["retention"] = self.retention_cell(a["retention"], a["legal_holds"]) or self._(NOT_DECLARED)
        return cells

    def contact_cell(self, contact: Contact | None) -> str:
        fields = _contact(contact)
        return "; ".join(v for v in fields.values() if v) if fields else ""

    def controller_cell(self) -> str:
        parts = [self.c.legal_name]
        if self.c.registration_number:
            parts.append(self.pair(N_("Registration number"), self.c.registration_number))
        if self.c.address:
            parts.append(self.c.address)
        parts.append(country(self.c.country, self.lang))
        return "; ".join(parts)

    def joint_cell(self, arrangements: Sequence[Json]) -> str:
        out = []
        for a in arrangements:
            point = a["contact_point"]
            text = f"{join(a['controllers'], self.lang)} ({self.pair(N_('Contact point'), point['name'])}"
            text += f", {point['email']}" if point["email"] else ""
            text += f"; {a['reference']}" if a["reference"] else ""
            out.append(text + f"): {a['essence']}")
        return " | ".join(out)

    def basis_cell(self, basis: Json | None) -> str:
        if basis is None:
            return ""
        text = str(basis["label"]) + (f" ({basis['citation']})" if basis["citation"] else "")
        if basis["legitimate_interest"]:
            text += "; " + self.pair(N_("Our legitimate interest"), basis["legitimate_interest"])
        if basis["special_category_condition"]:
            condition = basis["special_category_condition"]["label"]
            text += "; " + self.pair(N_("Condition for special categories of personal data"), condition)
        return text

    def data_cell(self, categories: Sequence[Json]) -> str:
        special = self._("special category of personal data")
        return "; ".join(c["name"] + (f" ({special})" if c["special"] else "") for c in categories)

    def recipients_cell(self, recipients: Sequence[Json]) -> str:
        out = []
        for r in recipients:
            name = r["name"] + (f" ({r['legal_name']})" if r["legal_name"] else "")
            where = join((x["name"] for x in r["countries"]), self.lang)
            if r["kind"] == "system":
                out.append(f"{name}: {r['role']['label']}; {where}")
            else:
                out.append(f"{name}: {r['role']['label']}" + (f"; {where}" if where else ""))
        return " | ".join(out)

    def transfers_cell(self, transfers: Sequence[Json]) -> str:
        out = []
        for f in transfers:
            mechanism = f["mechanism"]["label"] if f["mechanism"] else self._("no safeguard declared")
            text = f"{f['country']['name']} ({f['via']}): {mechanism}"
            out.append(text + (f", {f['reference']}" if f["reference"] else ""))
        return " | ".join(sorted(out))

    def retention_cell(self, rules: Sequence[Json], holds: Sequence[Json]) -> str:
        out = []
        for rule in rules:
            text = f"{rule['duration']}, {self.pair(N_('counted from'), rule['counted_from']['label'])}"
            if rule["then"]:
                text += ", " + self.pair(N_("then"), rule["then"]["label"])
            out.append(f"{text}. {rule['description']}")
        for hold in holds:
            counted = self.pair(N_("counted from"), hold["counted_from"]["label"])
            period = f"{hold['duration']}, {counted} ({hold['reference']})"
            out.append(self.pair(N_("Legal hold"), period) + f". {hold['description']}")
        return " | ".join(out)
