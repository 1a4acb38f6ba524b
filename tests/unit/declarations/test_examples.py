"""The reference organisations say what their notices say.

Each test pins a fact of a seed notice (shared/seeds) that the encoding under examples/ must keep:
if an edit to the YAML drops it, the test names the fact that was lost.
"""

from __future__ import annotations

from datetime import date

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.lint.base import Severity
from dataright.declarations.lint.runner import lint
from dataright.declarations.loader import LoadedDeclaration
from dataright.declarations.periods import Period
from dataright.declarations.schema import (
    Channel,
    Declaration,
    Fee,
    LegalBasis,
    OptOutMethod,
    RecipientType,
    RetentionAction,
    TransferMechanism,
    Trigger,
)

NESTIT_JOINT_PURPOSES = {
    "brand-communication",
    "newsletter",
    "customer-analysis-orders",
    "customer-analysis-behaviour",
    "personalised-advertising",
    "ad-network-matching",
    "google-conversion-matching",
}


def test_reference_examples_have_no_lint_errors(example: LoadedDeclaration) -> None:
    errors = [f for f in lint(example) if f.severity == Severity.error]
    assert errors == [], [f"{f.file}:{f.line} {f.finding.rule.id}: {f.finding.message}" for f in errors]


# --------------------------------------------------------------------------------------------
# NestIT Group
# --------------------------------------------------------------------------------------------
def test_nestit_is_a_group_of_a_swedish_and_a_norwegian_controller(nestit: Declaration) -> None:
    ab = nestit.controller_by_id["nestit-group-ab"]
    provendo = nestit.controller_by_id["provendo-as"]
    assert (ab.legal_name, ab.registration_number, ab.country, ab.jurisdiction) == (
        "NestIT Group AB",
        "559471-7547",
        "SE",
        "gdpr-se",
    )
    assert (provendo.legal_name, provendo.country, provendo.jurisdiction) == ("Provendo AS", "NO", "gdpr-no")
    (group,) = nestit.groups
    assert set(group.members) == {"nestit-group-ab", "provendo-as"}
    assert group.parent == "nestit-group-ab"
    assert group.members_url == "https://nestitgroup.com/our-companies/"


def test_nestit_joint_arrangement_covers_the_marketing_purposes(nestit: Declaration) -> None:
    (arrangement,) = nestit.joint_arrangements
    assert set(arrangement.controllers) == {"nestit-group-ab", "provendo-as"}
    assert arrangement.contact_point == "nestit-group-ab"
    assert set(arrangement.purposes) == NESTIT_JOINT_PURPOSES
    for purpose_id in NESTIT_JOINT_PURPOSES:
        purpose = nestit.purpose_by_id[purpose_id]
        assert purpose.joint_arrangement == arrangement.id
        assert set(purpose.controllers) == set(arrangement.controllers)


def test_nestit_companies_decide_the_other_purposes_each_on_their_own(nestit: Declaration) -> None:
    separate = [p for p in nestit.purposes if p.id not in NESTIT_JOINT_PURPOSES]
    assert len(separate) >= 10
    for purpose in separate:
        assert purpose.joint_arrangement is None
        assert purpose.separate_controllers or len(purpose.controllers) == 1, purpose.id


def test_nestit_both_companies_keep_books_under_their_own_act(nestit: Declaration) -> None:
    assert nestit.purpose_by_id["accounting-nestit-ab"].controllers == ("nestit-group-ab",)
    assert nestit.purpose_by_id["accounting-provendo"].controllers == ("provendo-as",)


def test_nestit_google_matching_rests_on_cookie_consent(nestit: Declaration) -> None:
    purpose = nestit.purpose_by_id["google-conversion-matching"]
    assert purpose.legal_basis == LegalBasis.consent
    assert purpose.consent is not None
    assert OptOutMethod.cookie_settings in purpose.consent.withdrawal
    assert purpose.sale_or_sharing
    assert purpose.data_use == "marketing.advertising.third_party.targeted"
    assert [nestit.system_by_id[r].legal_name for r in purpose.recipients] == ["Google Ireland Ltd"]
    cookies = [c for c in nestit.cookies if c.consent_purpose == purpose.id]
    assert cookies and all(c.system == "google-ads" for c in cookies)


def test_nestit_personalised_advertising_is_legitimate_interest_with_absolute_objection(nestit: Declaration) -> None:
    purpose = nestit.purpose_by_id["personalised-advertising"]
    assert purpose.legal_basis == LegalBasis.legitimate_interests
    assert purpose.legitimate_interest is not None
    assert purpose.direct_marketing
    assert purpose.objection is not None and purpose.objection.absolute
    assert not purpose.sale_or_sharing


def test_nestit_shares_data_with_ad_networks_only_on_consent(nestit: Declaration) -> None:
    ad_networks = {"google-ads", "meta-ads"}
    for purpose in nestit.purposes:
        if purpose.sale_or_sharing or ad_networks & set(purpose.recipients):
            assert purpose.legal_basis == LegalBasis.consent, purpose.id


def test_nestit_direct_marketing_on_legitimate_interest_can_always_be_stopped(nestit: Declaration) -> None:
    for purpose in nestit.purposes:
        if purpose.direct_marketing and purpose.legal_basis == LegalBasis.legitimate_interests:
            assert purpose.objection is not None and purpose.objection.absolute, purpose.id


def test_nestit_bookkeeping_holds_follow_each_company_s_law(nestit: Declaration) -> None:
    sweden = nestit.hold_by_id["bookkeeping-se"]
    assert sweden.duration == Period.parse("P7Y")
    assert sweden.trigger == Trigger.fiscal_year_end
    assert sweden.reference == "bokföringslagen (1999:1078) 7 kap. 2 §"
    assert sweden.jurisdiction == "gdpr-se"
    norway = nestit.hold_by_id["bookkeeping-no"]
    assert (norway.duration, norway.jurisdiction) == (Period.parse("P5Y"), "gdpr-no")
    assert nestit.purpose_by_id["accounting-nestit-ab"].legal_holds == ("bookkeeping-se",)
    assert nestit.purpose_by_id["accounting-provendo"].legal_holds == ("bookkeeping-no",)


def test_nestit_answers_within_30_days_and_takes_a_month_more_for_considerable_effort(nestit: Declaration) -> None:
    rights = nestit.rights
    assert rights.response_time == Period.parse("P30D")
    assert rights.extension == Period.parse("P1M")
    assert rights.fee == Fee.free_unless_unfounded
    authority = nestit.controller_by_id["nestit-group-ab"].supervisory_authority
    assert authority is not None and "IMY" in authority.name["en"]


def test_nestit_newsletter_by_email_and_sms_on_consent(nestit: Declaration) -> None:
    topics = [t for t in nestit.communication_topics if t.purpose == "newsletter"]
    assert {c for t in topics for c in t.channels} == {Channel.email, Channel.sms}
    for topic in topics:
        assert topic.legal_basis == LegalBasis.consent
        assert OptOutMethod.preference_centre in topic.unsubscribe
    surveys = nestit.purpose_by_id["surveys"]
    assert surveys.legal_basis == LegalBasis.legitimate_interests


def test_nestit_notice_was_last_updated_on_9_july_2025(nestit: Declaration) -> None:
    assert nestit.notice.effective_date == date(2025, 7, 9)


# --------------------------------------------------------------------------------------------
# Nestpros
# --------------------------------------------------------------------------------------------
def test_nestpros_is_a_singapore_controller_under_the_pdpa(nestpros: Declaration) -> None:
    (controller,) = nestpros.controllers
    assert (controller.country, controller.jurisdiction) == ("SG", "pdpa-sg")
    assert controller.address == "705 Serangoon Road, Singapore 328127"
    assert controller.contact.email == "privacy@nestpros.info"
    assert {c.email for c in nestpros.rights_of(controller.id).channels} >= {
        "contact@nestpros.info",
        "privacy@nestpros.info",
    }


def test_nestpros_own_consent_age_is_18_and_minors_need_their_guardian(nestpros: Declaration) -> None:
    assert nestpros.rights_of("nestpros").consent_age == 18
    assert get_jurisdiction("pdpa-sg").consent_age(nestpros.rights_of("nestpros").consent_age) == 18
    child_purposes = [p for p in nestpros.purposes if nestpros.is_child_purpose(p)]
    assert child_purposes
    assert all(p.guardian_consent for p in child_purposes)


def test_nestpros_uses_the_pdpa_s_own_bases(nestpros: Declaration) -> None:
    used = {p.legal_basis for p in nestpros.purposes}
    assert used == {
        LegalBasis.consent,
        LegalBasis.deemed_consent,
        LegalBasis.contract,
        LegalBasis.legitimate_interests,
        LegalBasis.business_improvement,
        LegalBasis.legal_obligation,
    }
    assert used <= set(get_jurisdiction("pdpa-sg").legal_bases)


def test_nestpros_transfers_out_of_singapore_rest_on_contractual_clauses(nestpros: Declaration) -> None:
    abroad = [s for s in nestpros.systems if set(s.countries) - {"SG"}]
    assert abroad
    contractual = {TransferMechanism.scc, TransferMechanism.comparable_protection}
    for system in abroad:
        covered = {t.country for t in system.transfers if t.mechanism in contractual}
        assert set(system.countries) - {"SG"} <= covered, system.id


def test_nestpros_marketing_has_one_click_unsubscribe(nestpros: Declaration) -> None:
    for topic_id in ("course-updates", "promotions"):
        topic = nestpros.topic_by_id[topic_id]
        assert OptOutMethod.one_click_link in topic.unsubscribe
    assert nestpros.purpose_by_id["promotions"].legal_basis == LegalBasis.consent


def test_nestpros_keeps_financial_records_as_singapore_law_requires(nestpros: Declaration) -> None:
    payment = nestpros.purpose_by_id["payment"]
    holds = [nestpros.hold_by_id[h] for h in payment.legal_holds]
    assert {h.reference for h in holds} == {"Companies Act 1967 s. 199", "Income Tax Act 1947 s. 67"}
    assert all(h.duration >= Period.parse("P5Y") and h.jurisdiction == "pdpa-sg" for h in holds)


def test_nestpros_answers_requests_within_30_calendar_days(nestpros: Declaration) -> None:
    assert nestpros.rights.response_time == Period.parse("P30D")


def test_nestpros_research_collaborators_get_anonymised_data_only(nestpros: Declaration) -> None:
    research = nestpros.purpose_by_id["research"]
    assert "research-collaborators" in research.recipients
    assert nestpros.recipient_by_id["research-collaborators"].type == RecipientType.research
    rule = nestpros.retention_by_id[research.retention or ""]
    assert rule.action == RetentionAction.anonymise


def test_each_nestit_company_is_bound_only_by_its_own_bookkeeping_act(nestit: Declaration) -> None:
    from dataright.declarations.notice.render import render_notice
    from dataright.declarations.ropa.record import build_record

    swedish = render_notice(nestit, "nestit-group-ab", "en", "md")
    norwegian = render_notice(nestit, "provendo-as", "en", "md")
    assert "bokföringslagen (1999:1078) 7 kap. 2 §" in swedish
    assert "bokføringsloven § 13" not in swedish
    assert "bokføringsloven § 13" in norwegian
    assert "bokföringslagen (1999:1078) 7 kap. 2 §" not in norwegian
    for row in build_record(nestit):
        if row["controller_id"] == "nestit-group-ab":
            assert "bokføringsloven" not in row["retention"]
        else:
            assert "bokföringslagen" not in row["retention"]


def test_nexalearn_deletes_within_a_month_of_a_consent_withdrawal(nexalearn: Declaration) -> None:
    from dataright.declarations.notice.render import render_notice

    analytics = nexalearn.purpose_by_id["analytics"]
    assert analytics.retention_ids == ("statistics-anonymise", "consent-withdrawn")
    withdrawn = nexalearn.retention_by_id["consent-withdrawn"]
    notice = render_notice(nexalearn, "nexalearn", "nb", "md")
    section = notice[notice.index("### Analyse og statistikk") :]
    section = section[: section.index("\n### ", 4)]
    assert withdrawn.description["nb"] in section
