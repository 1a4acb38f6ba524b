"""Consent receipts: Kantara v1.1 fields plus the ISO/IEC TS 27560 record information."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dataright.consent.receipts import KANTARA_VERSION, ReceiptEvent, build_receipt
from dataright.consent.rules import EventKind, Method, rules_for
from dataright.consent.targets import Holder, Target
from dataright.declarations.schema import Declaration

WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
TEXT_HASH = "a" * 64


def _event(target: Target, **changes: object) -> ReceiptEvent:
    fields: dict[str, object] = {
        "receipt_id": "7f0c1b7e-0000-4000-8000-000000000001",
        "kind": EventKind.given,
        "target": target,
        "holder": Holder.subject("42"),
        "occurred_at": WHEN,
        "method": Method.web_form,
        "notice_version": "2024-07-30",
        "source": "signup-page",
        "language": "nb",
        "text_hash": TEXT_HASH,
    }
    fields.update(changes)
    return ReceiptEvent(**fields)  # type: ignore[arg-type]


def test_a_receipt_carries_the_kantara_fields(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    receipt = build_receipt(nexalearn, rules, _event(Target.purpose("analytics"))).as_json()
    assert receipt["version"] == KANTARA_VERSION
    assert receipt["consentReceiptID"] == "7f0c1b7e-0000-4000-8000-000000000001"
    assert receipt["consentTimestamp"] == int(WHEN.timestamp())
    assert receipt["jurisdiction"] == "gdpr-no"
    assert receipt["collectionMethod"] == "web_form"
    assert receipt["piiPrincipalId"] == "s:42"
    assert receipt["policyUrl"] == "https://nexalearn.no"
    assert receipt["noticeVersion"] == "2024-07-30"
    assert receipt["piiControllers"] == [
        {
            "piiController": "NexaLearn",
            "onBehalf": False,
            "contact": "Bouchra Hamzaoui",
            "email": "post@nexalearn.no",
            "piiControllerUrl": "https://nexalearn.no",
        }
    ]
    assert receipt["sensitive"] is False
    assert receipt["spiCat"] == []


def test_purposes_carry_basis_type_categories_and_termination(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    receipt = build_receipt(nexalearn, rules, _event(Target.purpose("analytics"))).as_json()
    (service,) = receipt["services"]  # type: ignore[misc]
    assert service["service"] == "Analyse og statistikk"  # in the language the text was shown in
    (purpose,) = service["purposes"]
    assert purpose["purposeId"] == "analytics"
    assert purpose["purposeCategory"] == ["analytics.reporting"]
    assert purpose["legalBasis"] == "consent"
    assert purpose["legalBasisReference"].startswith("GDPR Art. 6(1)(a)")
    assert purpose["consentType"] == "EXPLICIT"
    assert "user.device.ip_address" in purpose["piiCategory"]
    assert purpose["termination"] == "P12M after consent, or on withdrawal"
    # Google Analytics and Hotjar are processors, not third parties
    assert purpose["thirdPartyDisclosure"] is False


def test_the_proof_is_the_hash_of_the_text_shown_and_its_language(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    receipt = build_receipt(nexalearn, rules, _event(Target.purpose("analytics"))).as_json()
    assert receipt["proof"] == {"textHash": TEXT_HASH, "hashAlgorithm": "sha-256", "language": "nb"}
    bare = build_receipt(nexalearn, rules, _event(Target.purpose("analytics"), text_hash=None)).as_json()
    assert "proof" not in bare


def test_a_cookie_receipt_lists_the_purposes_its_category_serves(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    event = _event(Target.cookie("performance"), holder=Holder.device("dev-1"), method=Method.banner)
    receipt = build_receipt(nexalearn, rules, event).as_json()
    assert receipt["piiPrincipalType"] == "device"
    assert receipt["piiPrincipalId"] == "d:dev-1"
    (service,) = receipt["services"]  # type: ignore[misc]
    assert service["target"] == "cookie:performance"
    assert [p["purposeId"] for p in service["purposes"]] == ["analytics"]


def test_a_topic_receipt_names_the_channel_and_third_party_recipients(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    event = _event(Target.topic("birthday-greetings", "email"), kind=EventKind.objected, language="en")
    receipt = build_receipt(nexalearn, rules, event).as_json()
    (service,) = receipt["services"]  # type: ignore[misc]
    assert service["service"] == "Birthday greetings (email)"
    assert service["channel"] == "email"
    (purpose,) = service["purposes"]
    assert purpose["legalBasis"] == "legitimate_interests"
    assert purpose["termination"] == "on objection"
    assert receipt["eventType"] == "objected"


def test_a_guardian_receipt_names_the_guardian_by_id(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    event = _event(Target.purpose("analytics"), method=Method.guardian, guardian_id="s:77")
    receipt = build_receipt(nexalearn, rules, event).as_json()
    assert receipt["actingGuardianId"] == "s:77"
    assert receipt["collectionMethod"] == "guardian"


def test_a_receipt_never_holds_an_identity_value(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    text = json.dumps(build_receipt(nexalearn, rules, _event(Target.purpose("analytics"))).as_json())
    assert "@" not in text.replace("post@nexalearn.no", "")
