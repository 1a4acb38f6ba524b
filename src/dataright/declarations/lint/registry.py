"""The rules ``dataright lint`` runs, in the order ``--list-rules`` prints them."""

from __future__ import annotations

from dataright.declarations.lint.base import Rule
from dataright.declarations.lint.rules.adequacy_not_recognised import AdequacyNotRecognised
from dataright.declarations.lint.rules.automated_decision_without_basis import AutomatedDecisionWithoutBasis
from dataright.declarations.lint.rules.category_in_no_dataset import CategoryInNoDataset
from dataright.declarations.lint.rules.child_consent_age_undeclared import ChildConsentAgeUndeclared
from dataright.declarations.lint.rules.child_data_without_guardian_consent import ChildDataWithoutGuardianConsent
from dataright.declarations.lint.rules.communication_without_unsubscribe import CommunicationWithoutUnsubscribe
from dataright.declarations.lint.rules.consent_age_below_statutory import ConsentAgeBelowStatutory
from dataright.declarations.lint.rules.consent_settings_without_consent_basis import ConsentSettingsWithoutConsentBasis
from dataright.declarations.lint.rules.consent_without_withdrawal import ConsentWithoutWithdrawal
from dataright.declarations.lint.rules.cookie_without_consent import CookieWithoutConsent
from dataright.declarations.lint.rules.dataset_category_without_purpose import DatasetCategoryWithoutPurpose
from dataright.declarations.lint.rules.direct_marketing_objection_not_absolute import (
    DirectMarketingObjectionNotAbsolute,
)
from dataright.declarations.lint.rules.joint_processing_without_arrangement import JointProcessingWithoutArrangement
from dataright.declarations.lint.rules.legal_basis_not_available import LegalBasisNotAvailable
from dataright.declarations.lint.rules.legal_hold_binds_no_controller import LegalHoldBindsNoController
from dataright.declarations.lint.rules.legitimate_interest_not_stated import LegitimateInterestNotStated
from dataright.declarations.lint.rules.legitimate_interest_without_objection import LegitimateInterestWithoutObjection
from dataright.declarations.lint.rules.processor_without_dpa import ProcessorWithoutDpa
from dataright.declarations.lint.rules.purpose_without_legal_basis import PurposeWithoutLegalBasis
from dataright.declarations.lint.rules.purpose_without_retention import PurposeWithoutRetention
from dataright.declarations.lint.rules.response_time_exceeds_statutory import ResponseTimeExceedsStatutory
from dataright.declarations.lint.rules.response_time_may_exceed_statutory import ResponseTimeMayExceedStatutory
from dataright.declarations.lint.rules.retention_binding_invalid import RetentionBindingInvalid
from dataright.declarations.lint.rules.retention_fiscal_year_missing import RetentionFiscalYearMissing
from dataright.declarations.lint.rules.retention_overwrites_held_field import RetentionOverwritesHeldField
from dataright.declarations.lint.rules.retention_trigger_column_undeclared import RetentionTriggerColumnUndeclared
from dataright.declarations.lint.rules.retention_without_action import RetentionWithoutAction
from dataright.declarations.lint.rules.rights_handling_omits_statutory_right import RightsHandlingOmitsStatutoryRight
from dataright.declarations.lint.rules.sale_or_sharing_without_consent import SaleOrSharingWithoutConsent
from dataright.declarations.lint.rules.special_category_without_condition import SpecialCategoryWithoutCondition
from dataright.declarations.lint.rules.text_missing_language import TextMissingLanguage
from dataright.declarations.lint.rules.transfer_without_mechanism import TransferWithoutMechanism
from dataright.declarations.lint.rules.unknown_jurisdiction import UnknownJurisdiction
from dataright.declarations.lint.rules.withdrawal_retention_wrong_trigger import WithdrawalRetentionWrongTrigger

RULES: tuple[Rule, ...] = (
    UnknownJurisdiction(),
    # lawful basis
    PurposeWithoutLegalBasis(),
    LegalBasisNotAvailable(),
    ConsentWithoutWithdrawal(),
    ConsentSettingsWithoutConsentBasis(),
    LegitimateInterestWithoutObjection(),
    LegitimateInterestNotStated(),
    DirectMarketingObjectionNotAbsolute(),
    SaleOrSharingWithoutConsent(),
    SpecialCategoryWithoutCondition(),
    AutomatedDecisionWithoutBasis(),
    # children
    ChildDataWithoutGuardianConsent(),
    ChildConsentAgeUndeclared(),
    ConsentAgeBelowStatutory(),
    # retention
    PurposeWithoutRetention(),
    RetentionWithoutAction(),
    LegalHoldBindsNoController(),
    WithdrawalRetentionWrongTrigger(),
    RetentionTriggerColumnUndeclared(),
    RetentionOverwritesHeldField(),
    RetentionFiscalYearMissing(),
    RetentionBindingInvalid(),
    # recipients and transfers
    ProcessorWithoutDpa(),
    JointProcessingWithoutArrangement(),
    TransferWithoutMechanism(),
    AdequacyNotRecognised(),
    # cookies and communications
    CookieWithoutConsent(),
    CommunicationWithoutUnsubscribe(),
    # rights handling
    RightsHandlingOmitsStatutoryRight(),
    ResponseTimeExceedsStatutory(),
    ResponseTimeMayExceedStatutory(),
    # datasets
    CategoryInNoDataset(),
    DatasetCategoryWithoutPurpose(),
    # the notice's texts
    TextMissingLanguage(),
)


def rule_by_id(rule_id: str) -> Rule:
    for rule in RULES:
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)
