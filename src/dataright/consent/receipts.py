"""Consent receipts: the record a person (or an auditor) can keep of one consent event.

The JSON follows the Kantara Initiative Consent Receipt Specification v1.1 field names
(``consentReceiptID``, ``piiPrincipalId``, ``piiControllers``, ``services[].purposes[]`` ...) and adds
the ISO/IEC TS 27560 consent-record information Kantara lacks: the event type and time, the notice
version, the legal basis per purpose with its citation, and the proof of what was shown (a SHA-256 of
the exact text and its language). The person is referenced by an opaque id, never by an identity
value such as an e-mail address. Receipts are built once, when the event is recorded, and stored
with it: a later edit of the declaration never changes what a person was told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dataright.consent.rules import ControllerRules, EventKind, Method
from dataright.consent.targets import Holder, HolderKind, Target, TargetKind
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.schema import Declaration, LegalBasis, LocalizedText, Purpose, Role

KANTARA_VERSION = "KI-CR-v1.1.0"
RECORD_SCHEMA = "dataright-consent-record/1 (ISO/IEC TS 27560)"


class _Receipt(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


class ReceiptController(_Receipt):
    pii_controller: str = Field(alias="piiController")
    on_behalf: bool = Field(False, alias="onBehalf")
    contact: str | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    pii_controller_url: str | None = Field(None, alias="piiControllerUrl")


class ReceiptPurpose(_Receipt):
    purpose: str
    purpose_id: str = Field(alias="purposeId")
    purpose_category: list[str] = Field(default_factory=list, alias="purposeCategory")
    legal_basis: str | None = Field(alias="legalBasis")
    legal_basis_reference: str | None = Field(None, alias="legalBasisReference")
    consent_type: Literal["EXPLICIT", "IMPLICIT"] | None = Field(alias="consentType")
    pii_category: list[str] = Field(alias="piiCategory")
    primary_purpose: bool = Field(alias="primaryPurpose")
    termination: str
    third_party_disclosure: bool = Field(alias="thirdPartyDisclosure")
    third_party_name: list[str] = Field(default_factory=list, alias="thirdPartyName")


class ReceiptService(_Receipt):
    service: str
    target: str
    channel: str | None = None
    purposes: list[ReceiptPurpose]


class ReceiptProof(_Receipt):
    text_hash: str = Field(alias="textHash")
    hash_algorithm: Literal["sha-256"] = Field("sha-256", alias="hashAlgorithm")
    language: str | None = None


class ReceiptBanner(_Receipt):
    """The cookie banner choice an event came from: which banner, in which language, what was chosen."""

    revision: str | None = None
    language: str | None = None
    accepted: list[str]
    rejected: list[str]
    gpc: bool = False


class ConsentReceipt(_Receipt):
    version: str = KANTARA_VERSION
    record_schema: str = Field(RECORD_SCHEMA, alias="recordSchema")
    consent_receipt_id: str = Field(alias="consentReceiptID")
    consent_timestamp: int = Field(alias="consentTimestamp")
    event_time: datetime = Field(alias="eventTime")
    event_type: EventKind = Field(alias="eventType")
    jurisdiction: str
    collection_method: str = Field(alias="collectionMethod")
    source: str | None = None
    language: str | None = None
    pii_principal_id: str = Field(alias="piiPrincipalId")
    pii_principal_type: Literal["subject", "device"] = Field(alias="piiPrincipalType")
    acting_guardian_id: str | None = Field(None, alias="actingGuardianId")
    pii_controllers: list[ReceiptController] = Field(alias="piiControllers")
    policy_url: str | None = Field(alias="policyUrl")
    notice_version: str = Field(alias="noticeVersion")
    services: list[ReceiptService]
    sensitive: bool
    spi_cat: list[str] = Field(alias="spiCat")
    proof: ReceiptProof | None = None
    cookie_banner: ReceiptBanner | None = Field(None, alias="cookieBanner")

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True, slots=True)
class ReceiptEvent:
    """The facts of one consent event a receipt is made of."""

    receipt_id: str
    kind: EventKind
    target: Target
    holder: Holder
    occurred_at: datetime
    method: Method
    notice_version: str
    source: str | None = None
    language: str | None = None
    text_hash: str | None = None
    guardian_id: str | None = None
    banner: ReceiptBanner | None = None


def _text(value: LocalizedText | None, language: str | None, fallback: str) -> str:
    if not value:
        return fallback
    if language in value:
        return value[language]
    return value.get("en") or next(iter(value.values()))


def _third_parties(declaration: Declaration, purpose: Purpose) -> list[str]:
    """Recipients that are third parties (GDPR Art. 4(10)): not our processors, not ourselves."""
    names: list[str] = []
    for ref in purpose.recipients:
        system = declaration.system_by_id.get(ref)
        if system is not None:
            if system.role in (Role.controller, Role.joint_controller):
                names.append(system.legal_name or system.name)
            continue
        recipient = declaration.recipient_by_id.get(ref)
        if recipient is not None:
            names.append(_text(recipient.name, "en", recipient.id))
    return names


def _citation(jurisdiction: str, basis: LegalBasis | None) -> str | None:
    pack = get_jurisdiction(jurisdiction)
    citation = pack.citation(basis) if basis else ""
    return f"{_text(pack.law_short, 'en', pack.id)} {citation}" if citation else None


def _consent_type(basis: LegalBasis | None) -> Literal["EXPLICIT", "IMPLICIT"] | None:
    if basis is LegalBasis.consent:
        return "EXPLICIT"
    if basis is LegalBasis.deemed_consent:
        return "IMPLICIT"
    return None


def _receipt_purpose(
    declaration: Declaration, rules: ControllerRules, purpose: Purpose, basis: LegalBasis | None, language: str | None
) -> ReceiptPurpose:
    lifetime = purpose.consent.lifetime if purpose.consent else None
    if basis is LegalBasis.consent:
        termination = f"{lifetime.iso()} after consent, or on withdrawal" if lifetime else "on withdrawal"
    elif basis is not None and basis in (LegalBasis.legitimate_interests, LegalBasis.public_task):
        termination = "on objection"
    else:
        termination = "when the purpose ends"
    third = _third_parties(declaration, purpose)
    return ReceiptPurpose(
        purpose=_text(purpose.name, language, purpose.id),
        purpose_id=purpose.id,
        purpose_category=[purpose.data_use] if purpose.data_use else [],
        legal_basis=str(basis) if basis else None,
        legal_basis_reference=_citation(rules.jurisdiction, basis),
        consent_type=_consent_type(basis),
        pii_category=list(purpose.data_categories),
        primary_purpose=False,
        termination=termination,
        third_party_disclosure=bool(third),
        third_party_name=third,
    )


def _purposes_of_target(declaration: Declaration, rules: ControllerRules, target: Target) -> list[Purpose]:
    if target.kind is TargetKind.purpose:
        ids: tuple[str, ...] = (target.key,)
    elif target.kind is TargetKind.cookie:
        ids = rules.category_purposes.get(target.key, ())
    else:
        ids = (rules.rule(target).purpose_id or "",)
    return [declaration.purpose_by_id[i] for i in ids if i in declaration.purpose_by_id]


def _service_name(declaration: Declaration, target: Target, language: str | None) -> str:
    if target.kind is TargetKind.topic:
        topic = declaration.topic_by_id[target.key]
        return f"{_text(topic.name, language, topic.id)} ({target.channel})"
    if target.kind is TargetKind.cookie:
        return f"cookies: {target.key}"
    return _text(declaration.purpose_by_id[target.key].name, language, target.key)


def build_receipt(
    declaration: Declaration, rules: ControllerRules, event: ReceiptEvent, *, notice_url: str | None = None
) -> ConsentReceipt:
    controller = declaration.controller_by_id[rules.controller_id]
    rule = rules.rule(event.target)
    purposes = _purposes_of_target(declaration, rules, event.target)
    special = sorted({c for p in purposes for c in p.data_categories if declaration.is_special(c)})
    return ConsentReceipt(
        consent_receipt_id=event.receipt_id,
        consent_timestamp=int(event.occurred_at.timestamp()),
        event_time=event.occurred_at,
        event_type=event.kind,
        jurisdiction=rules.jurisdiction,
        collection_method=str(event.method),
        source=event.source,
        language=event.language,
        pii_principal_id=event.holder.code,
        pii_principal_type="subject" if event.holder.kind is HolderKind.subject else "device",
        acting_guardian_id=event.guardian_id,
        pii_controllers=[
            ReceiptController(
                pii_controller=controller.legal_name,
                contact=controller.contact.name,
                address=controller.address or controller.contact.address,
                email=controller.contact.email,
                phone=controller.contact.phone,
                pii_controller_url=controller.website or controller.contact.url,
            )
        ],
        policy_url=notice_url or controller.website,
        notice_version=event.notice_version,
        services=[
            ReceiptService(
                service=_service_name(declaration, event.target, event.language),
                target=event.target.code,
                channel=str(event.target.channel) if event.target.channel else None,
                purposes=[_receipt_purpose(declaration, rules, p, rule.basis, event.language) for p in purposes],
            )
        ],
        sensitive=bool(special),
        spi_cat=special,
        proof=ReceiptProof(text_hash=event.text_hash, language=event.language) if event.text_hash else None,
        cookie_banner=event.banner,
    )
