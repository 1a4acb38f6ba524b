"""The words the documents use for the schema's enumerations, as English msgids.

Each table covers its enumeration completely (a test checks it), so a new enum member cannot reach
a notice untranslated. ``label(value, lang)`` looks a member up and translates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from dataright.declarations.notice.i18n import N_, gettext
from dataright.declarations.schema import (
    Art9Condition,
    Channel,
    CookieCategory,
    Fee,
    LegalBasis,
    OptOutMethod,
    RecipientType,
    RetentionAction,
    Right,
    Role,
    SourceType,
    TransferMechanism,
    Trigger,
    VerificationMethod,
)

LEGAL_BASES: dict[LegalBasis, str] = {
    LegalBasis.consent: N_("Consent"),
    LegalBasis.contract: N_("Performance of a contract"),
    LegalBasis.legal_obligation: N_("Compliance with a legal obligation"),
    LegalBasis.vital_interests: N_("Protection of vital interests"),
    LegalBasis.public_task: N_("A task carried out in the public interest"),
    LegalBasis.legitimate_interests: N_("Legitimate interests"),
    LegalBasis.deemed_consent: N_("Deemed consent"),
    LegalBasis.business_improvement: N_("Business improvement"),
}

ART9_CONDITIONS: dict[Art9Condition, str] = {
    Art9Condition.explicit_consent: N_("Explicit consent"),
    Art9Condition.employment: N_("Obligations in employment and social security law"),
    Art9Condition.vital_interests: N_("Protection of vital interests where consent cannot be given"),
    Art9Condition.not_for_profit: N_("Activities of a not-for-profit body"),
    Art9Condition.made_public: N_("Data you have manifestly made public"),
    Art9Condition.legal_claims: N_("Establishment, exercise or defence of legal claims"),
    Art9Condition.substantial_public_interest: N_("Reasons of substantial public interest"),
    Art9Condition.health_care: N_("Preventive or occupational medicine and health care"),
    Art9Condition.public_health: N_("Reasons of public interest in public health"),
    Art9Condition.archiving_research: N_("Archiving, scientific or historical research or statistics"),
}

ROLES: dict[Role, str] = {
    Role.processor: N_("Data processor acting on our instructions"),
    Role.controller: N_("Independent controller"),
    Role.joint_controller: N_("Joint controller"),
    Role.internal: N_("Our own system"),
}

TRANSFER_MECHANISMS: dict[TransferMechanism, str] = {
    TransferMechanism.adequacy: N_("Adequacy decision"),
    TransferMechanism.scc: N_("Standard contractual clauses"),
    TransferMechanism.bcr: N_("Binding corporate rules"),
    TransferMechanism.derogation: N_("Derogation for a specific situation"),
    TransferMechanism.comparable_protection: N_("Legally enforceable obligations ensuring comparable protection"),
}

TRIGGERS: dict[Trigger, str] = {
    Trigger.collection: N_("Collection of the data"),
    Trigger.last_activity: N_("Your last activity"),
    Trigger.account_closure: N_("Closure of the account"),
    Trigger.relationship_end: N_("End of the customer relationship"),
    Trigger.fiscal_year_end: N_("End of the financial year"),
    Trigger.consent_withdrawal: N_("Withdrawal of consent"),
    Trigger.case_closed: N_("Closure of the case"),
}

RETENTION_ACTIONS: dict[RetentionAction, str] = {
    RetentionAction.delete: N_("Deleted"),
    RetentionAction.anonymise: N_("Anonymised"),
    RetentionAction.pseudonymise: N_("Pseudonymised"),
}

COOKIE_CATEGORIES: dict[CookieCategory, str] = {
    CookieCategory.strictly_necessary: N_("Strictly necessary"),
    CookieCategory.functional: N_("Functional"),
    CookieCategory.performance: N_("Statistics and performance"),
    CookieCategory.targeting: N_("Targeting and advertising"),
}

CHANNELS: dict[Channel, str] = {
    Channel.email: N_("e-mail"),
    Channel.sms: N_("text message (SMS)"),
    Channel.phone: N_("telephone"),
    Channel.post: N_("letter post"),
    Channel.push: N_("push notification"),
    Channel.in_app: N_("message in the app"),
}

# Phrased to follow "via" / "through": "You can withdraw your consent via <methods>".
OPT_OUT_METHODS: dict[OptOutMethod, str] = {
    OptOutMethod.one_click_link: N_("the unsubscribe link in every message"),
    OptOutMethod.preference_centre: N_("our preference centre"),
    OptOutMethod.cookie_settings: N_("the cookie settings"),
    OptOutMethod.reply_stop: N_("a reply with the word STOP"),
    OptOutMethod.customer_service: N_("our customer service"),
    OptOutMethod.email: N_("an e-mail to us"),
    OptOutMethod.account_settings: N_("your account settings"),
}

SOURCE_TYPES: dict[SourceType, str] = {
    SourceType.direct: N_("From you"),
    SourceType.automatic: N_("Collected automatically"),
    SourceType.third_party: N_("From third parties"),
}

RIGHT_NAMES: dict[Right, str] = {
    Right.access: N_("Right of access"),
    Right.rectification: N_("Right to rectification"),
    Right.erasure: N_("Right to erasure"),
    Right.restriction: N_("Right to restriction of processing"),
    Right.portability: N_("Right to data portability"),
    Right.objection: N_("Right to object"),
    Right.withdraw_consent: N_("Right to withdraw consent"),
    Right.automated_decisions: N_("Rights related to automated decision-making"),
    Right.complaint: N_("Right to lodge a complaint"),
}

RIGHT_DESCRIPTIONS: dict[Right, str] = {
    Right.access: N_(
        "You can ask whether we process personal data about you and, if we do, receive a copy of the data and "
        "information about how we process it."
    ),
    Right.rectification: N_("You can ask us to correct inaccurate data about you and to complete incomplete data."),
    Right.erasure: N_(
        "You can ask us to delete data about you, for example when we no longer need it or you withdraw the consent "
        "the processing relies on, unless we must keep it by law."
    ),
    Right.restriction: N_(
        "You can ask us to limit the processing of your data while a disagreement about its accuracy or lawfulness "
        "is being resolved."
    ),
    Right.portability: N_(
        "You can receive the data you have given us in a structured, commonly used and machine-readable format, or "
        "ask us to send it to another organisation, where the processing relies on your consent or a contract."
    ),
    Right.objection: N_(
        "You can object to processing based on our legitimate interests on grounds relating to your situation, and "
        "at any time to processing for direct marketing."
    ),
    Right.withdraw_consent: N_(
        "Where the processing relies on your consent, you can withdraw it at any time; this does not affect the "
        "lawfulness of the processing before the withdrawal."
    ),
    Right.automated_decisions: N_(
        "You have the right not to be subject to a decision based solely on automated processing that has legal or "
        "similarly significant effects for you, and to ask for human review of such a decision."
    ),
    Right.complaint: N_(
        "You can complain to the data protection authority if you believe we process your data unlawfully."
    ),
}

VERIFICATION_METHODS: dict[VerificationMethod, str] = {
    VerificationMethod.email_link: N_("a confirmation link sent to your e-mail address"),
    VerificationMethod.sms_code: N_("a code sent to your mobile phone"),
    VerificationMethod.logged_in: N_("login to your account"),
    VerificationMethod.bankid: N_("electronic identification with BankID"),
    VerificationMethod.id_document: N_("a copy of an identity document"),
    VerificationMethod.singpass: N_("Singpass, the national digital identity of Singapore"),
    VerificationMethod.staff_check: N_("a check by our staff"),
}

FEES: dict[Fee, str] = {
    Fee.free: N_("Exercising your rights is free of charge."),
    Fee.free_unless_unfounded: N_(
        "Exercising your rights is free of charge. If a request is manifestly unfounded or excessive, we may charge "
        "a reasonable fee or refuse to act on it."
    ),
    Fee.reasonable_fee: N_("We may charge a reasonable fee to cover the cost of answering your request."),
}

RECIPIENT_TYPES: dict[RecipientType, str] = {
    RecipientType.group_company: N_("Companies in our group"),
    RecipientType.authority: N_("Public authorities"),
    RecipientType.adviser: N_("Professional advisers"),
    RecipientType.business_partner: N_("Business partners"),
    RecipientType.acquirer: N_("Buyers of our business"),
    RecipientType.service_provider: N_("Service providers"),
    RecipientType.research: N_("Research partners"),
}

TABLES: dict[type[StrEnum], Mapping[Any, str]] = {
    LegalBasis: LEGAL_BASES,
    Art9Condition: ART9_CONDITIONS,
    Role: ROLES,
    TransferMechanism: TRANSFER_MECHANISMS,
    Trigger: TRIGGERS,
    RetentionAction: RETENTION_ACTIONS,
    CookieCategory: COOKIE_CATEGORIES,
    Channel: CHANNELS,
    OptOutMethod: OPT_OUT_METHODS,
    SourceType: SOURCE_TYPES,
    Right: RIGHT_NAMES,
    VerificationMethod: VERIFICATION_METHODS,
    Fee: FEES,
    RecipientType: RECIPIENT_TYPES,
}


def label(value: StrEnum, lang: str) -> str:
    """The translated word for an enum member."""
    return gettext(lang, TABLES[type(value)][value])


def right_description(right: Right, lang: str) -> str:
    return gettext(lang, RIGHT_DESCRIPTIONS[right])
