"""Jurisdiction rule packs: the law as data files, one YAML file per jurisdiction.

A pack may ``extend`` another (``gdpr-no`` extends ``gdpr``); mappings merge key by key and the
child's values win. Adding a jurisdiction is adding a file under ``packs/``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from dataright.declarations.periods import Period
from dataright.declarations.schema import Authority, Country, LegalBasis, LocalizedText, Model, Right
from dataright.errors import JurisdictionError

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class CountingRule(Model):
    """How a legal period is counted: the day of receipt never counts (``Period.after``); a period that
    ends on a closed day (these weekdays, or a public holiday of the controller's country from the
    ``holidays`` package) runs on to the next open day."""

    closed_weekdays: tuple[Weekday, ...] = ()
    public_holidays: bool = False
    reference: str


class ResponseRule(Model):
    deadline: Period
    extension: Period | None = None
    """How much longer an extended answer may take, counted on from the deadline; ``None``: no fixed
    cap, the notice to the person states the date (PDPA)."""
    extension_notice_within: Period | None = None
    extension_condition: LocalizedText
    reference: str
    counting: CountingRule


class PrescribedDataClass(Model):
    """A class of personal data whose breach is deemed to result in significant harm (PDPA s. 26B(2) and the
    Schedule to the PDP (Notification of Data Breaches) Regulations 2021). ``categories`` are the fideslang
    keys (or prefixes of them) that fall under it, so a breach's declared categories find it."""

    id: str
    label: str
    reference: str
    categories: tuple[str, ...] = ()


class BreachRule(Model):
    authority_within: Period
    authority_from: Literal["awareness", "assessment"]
    authority_reference: str
    authority_language: Literal["en", "nb", "sv"] = "en"
    """The language the authority's notification form is filled in."""
    authority_form: Literal["gdpr_art33", "pdpc"] = "gdpr_art33"
    individuals: Literal["without_undue_delay", "on_or_after_authority"]
    individuals_reference: str
    # What makes a breach notifiable to the authority:
    #   risk: unless it is unlikely to result in a risk to the rights and freedoms of people (GDPR Art. 33(1));
    #   significant_harm_or_scale: likely significant harm, or at least ``notifiable_min_affected`` people
    #   (PDPA s. 26B(1)).
    notifiable_when: Literal["risk", "significant_harm_or_scale"] = "risk"
    notifiable_reference: str = ""
    notifiable_min_affected: int | None = None
    individuals_when: Literal["high_risk", "significant_harm"] = "high_risk"
    individuals_exemption_reference: str = ""
    assessment_within: Period | None = None
    assessment_reference: str | None = None
    prescribed_data_classes: tuple[PrescribedDataClass, ...] = ()


class Jurisdiction(Model):
    id: str
    extends: str | None = None
    name: LocalizedText
    law_short: LocalizedText
    legal_bases: dict[LegalBasis, str]
    rights: tuple[Right, ...]
    response: ResponseRule
    child_consent_age: int
    child_consent_reference: str
    child_consent_scope: Literal["information_society_services", "all_processing", "guidance"] = "all_processing"
    """What the age rests on and covers: GDPR Art. 8 and the national ages apply to information society services
    offered directly to a child; ``guidance``: no law sets an age, an authority's guidance does (PDPC)."""
    breach: BreachRule
    home_region: tuple[Country, ...]
    adequate_countries: tuple[Country, ...]
    transfer_reference: str
    authority: Authority
    citation_style: Literal["gdpr", "plain"] = "plain"
    """``gdpr``: articles are cited in each language's own style (``notice.citations``); ``plain``: as written."""
    refusal_copy_kept: Period | None = None
    """How long a copy of the personal data asked for is kept after an access request is refused (PDPA)."""
    disclosures_covered: Period | None = None
    """How far back an access reply lists how the person's data was used or disclosed, and a correction goes to
    every organisation it was disclosed to (PDPA s. 21(1)(b) and s. 22(2): the year before the request)."""
    disclosures_reference: str | None = None

    def citation(self, basis: LegalBasis) -> str:
        return self.legal_bases.get(basis, "")

    def needs_transfer_mechanism(self, country: str) -> bool:
        """True when data going to ``country`` leaves the home region for a place without adequacy."""
        return country not in self.home_region and country not in self.adequate_countries

    def consent_age(self, own_age: int | None) -> int:
        """The stricter of the statutory age and the controller's own rule."""
        return max(self.child_consent_age, own_age or 0)


def _packs() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__package__).joinpath("packs").iterdir():
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            out[data["id"]] = data
    return out


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@cache
def all_jurisdictions() -> dict[str, Jurisdiction]:
    raw = _packs()

    def resolve(pack_id: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
        if pack_id in chain:
            raise JurisdictionError(f"jurisdiction packs extend each other in a loop: {' -> '.join(chain)}")
        data = raw[pack_id]
        parent = data.get("extends")
        return _merge(resolve(parent, (*chain, pack_id)), data) if parent else data

    packs: dict[str, Jurisdiction] = {}
    for pack_id in raw:
        try:
            packs[pack_id] = Jurisdiction.model_validate(resolve(pack_id))
        except ValidationError as exc:
            raise JurisdictionError(f"jurisdiction pack {pack_id!r} is broken: {exc}") from None
    return packs


def get_jurisdiction(pack_id: str) -> Jurisdiction:
    packs = all_jurisdictions()
    if pack_id not in packs:
        raise JurisdictionError(f"unknown jurisdiction {pack_id!r}; known: {', '.join(sorted(packs))}")
    return packs[pack_id]
