"""The consent decision: age and guardians, GPC, expiry, other legal bases, objections, Do Not Call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.consent.rules import (
    Decision,
    EventKind,
    Method,
    Reason,
    StateView,
    TargetRule,
    age_refusal,
    apply_dnc,
    build_rules,
    decide,
    dnc_applies,
    effective_consent_age,
    expires_at,
    guardian_refusal,
    is_gpc_purpose,
    latest,
    opt_out_kind,
    rules_for,
    validate_event,
)
from dataright.consent.targets import Target
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.periods import Period
from dataright.declarations.schema import Channel, Declaration, LegalBasis
from dataright.errors import Conflict, NotFound, ValidationFailed

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
kinds = st.sampled_from(list(EventKind))
states = st.builds(
    StateView,
    status=kinds,
    event_id=st.integers(min_value=1, max_value=10**9),
    expires_at=st.none() | st.datetimes(timezones=st.just(UTC)),
    evidenced=st.booleans(),
)


def _given(event_id: int = 7, expires: datetime | None = None, evidenced: bool = True) -> StateView:
    return StateView(EventKind.given, event_id, expires, evidenced)


# -- age ------------------------------------------------------------------------------------------
def test_nexalearn_consent_age_is_its_own_16_not_the_norwegian_13(nexalearn: Declaration) -> None:
    assert get_jurisdiction("gdpr-no").child_consent_age == 13
    assert effective_consent_age(nexalearn, "nexalearn") == 16


@given(own=st.none() | st.integers(min_value=0, max_value=21))
def test_effective_age_is_the_stricter_of_pack_and_controller(nexalearn: Declaration, own: int | None) -> None:
    assert nexalearn.controllers[0].rights is None  # the declaration-wide rights apply
    declaration = nexalearn.model_copy(update={"rights": nexalearn.rights.model_copy(update={"consent_age": own})})
    assert effective_consent_age(declaration, "nexalearn") == max(13, own or 0)


def test_unknown_controller_is_not_found(nexalearn: Declaration) -> None:
    with pytest.raises(NotFound, match="nobody"):
        build_rules(nexalearn, "nobody")


def test_consent_below_the_age_is_refused() -> None:
    refusal = age_refusal(age=15, consent_age=16, method=Method.web_form, guardian_linked=False)
    assert refusal is Reason.below_consent_age


def test_consent_at_the_age_stands() -> None:
    assert age_refusal(age=16, consent_age=16, method=Method.web_form, guardian_linked=False) is None


def test_a_linked_guardian_may_consent_for_a_child() -> None:
    assert age_refusal(age=11, consent_age=16, method=Method.guardian, guardian_linked=True) is None


def test_a_guardian_who_is_not_linked_is_refused() -> None:
    refusal = age_refusal(age=11, consent_age=16, method=Method.guardian, guardian_linked=False)
    assert refusal is Reason.guardian_not_linked


def test_a_guardian_cannot_consent_for_a_subject_of_consent_age() -> None:
    refusal = age_refusal(age=17, consent_age=16, method=Method.guardian, guardian_linked=True)
    assert refusal is Reason.subject_of_consent_age


def test_unknown_age_is_not_refused() -> None:
    assert age_refusal(age=None, consent_age=16, method=Method.api, guardian_linked=False) is None


@given(age=st.integers(min_value=0, max_value=120), consent_age=st.integers(min_value=0, max_value=21))
def test_own_consent_stands_exactly_from_the_consent_age(age: int, consent_age: int) -> None:
    refused = age_refusal(age=age, consent_age=consent_age, method=Method.web_form, guardian_linked=False)
    assert (refused is None) == (age >= consent_age)


# -- GPC ------------------------------------------------------------------------------------------
def test_gpc_covers_sale_sharing_and_targeted_advertising_only(nexalearn: Declaration) -> None:
    gpc = {p.id for p in nexalearn.purposes if is_gpc_purpose(p)}
    assert gpc == {"targeted-advertising"}


def test_gpc_targets_include_targeting_cookies(nexalearn: Declaration) -> None:
    codes = {t.code for t in rules_for(nexalearn, "nexalearn").gpc_targets}
    assert codes == {"purpose:targeted-advertising", "cookie:targeting"}


def test_gpc_beats_an_earlier_opt_in(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("targeted-advertising"))
    assert decide(rule, _given(), now=NOW).allowed
    decision = decide(rule, _given(), now=NOW, gpc=True)
    assert decision == Decision(False, LegalBasis.consent, Reason.gpc_opt_out, None)


def test_recorded_gpc_opt_out_keeps_denying_without_the_header(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("targeted-advertising"))
    state = StateView(EventKind.gpc_opt_out, 9)
    assert decide(rule, state, now=NOW) == Decision(False, LegalBasis.consent, Reason.gpc_opt_out, 9)


def test_gpc_does_not_touch_purposes_that_neither_sell_nor_target(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("analytics"))
    assert decide(rule, _given(), now=NOW, gpc=True).allowed


@given(state=st.none() | states)
def test_with_gpc_a_gpc_purpose_is_never_allowed(nexalearn: Declaration, state: StateView | None) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("targeted-advertising"))
    assert not decide(rule, state, now=NOW, gpc=True).allowed


# -- consent and expiry ---------------------------------------------------------------------------
def test_no_event_means_no_consent(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("analytics"))
    assert decide(rule, None, now=NOW) == Decision(False, LegalBasis.consent, Reason.no_consent)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (EventKind.withdrawn, Reason.consent_withdrawn),
        (EventKind.refused, Reason.consent_refused),
        (EventKind.expired, Reason.consent_expired),
        (EventKind.objected, Reason.objection),
    ],
)
def test_negative_events_deny_a_consent_purpose(nexalearn: Declaration, kind: EventKind, reason: Reason) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("analytics"))
    assert decide(rule, StateView(kind, 3), now=NOW) == Decision(False, LegalBasis.consent, reason, 3)


def test_consent_expires_when_its_lifetime_has_passed(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("analytics"))
    given_at = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    end = expires_at(rule, EventKind.given, given_at)
    assert end == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # P12M
    state = _given(expires=end)
    assert decide(rule, state, now=end - timedelta(seconds=1)).reason is Reason.consent_given
    assert decide(rule, state, now=end) == Decision(False, LegalBasis.consent, Reason.consent_expired, 7)


def test_only_given_consent_with_a_lifetime_gets_an_end(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    assert expires_at(rules.rule(Target.purpose("analytics")), EventKind.withdrawn, NOW) is None
    assert expires_at(rules.rule(Target.purpose("personalisation")), EventKind.given, NOW) is None


def test_cookie_category_takes_the_lifetime_of_its_consent_purposes(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    assert rules.rule(Target.cookie("performance")).lifetime == Period.parse("P12M")
    assert rules.category_purposes["performance"] == ("analytics",)
    assert rules.purpose_categories["analytics"] == ("performance",)


def test_strictly_necessary_cookies_need_no_consent(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.cookie("strictly_necessary"))
    assert decide(rule, None, now=NOW) == Decision(True, None, Reason.not_required)
    with pytest.raises(ValidationFailed, match="strictly necessary"):
        validate_event(rule, EventKind.given)


# -- other bases and objections -------------------------------------------------------------------
@given(state=st.none() | states)
def test_a_contract_purpose_answers_with_its_basis_whatever_was_recorded(
    nexalearn: Declaration, state: StateView | None
) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("teaching"))
    assert decide(rule, state, now=NOW) == Decision(True, LegalBasis.contract, Reason.basis_applies)


def test_consent_cannot_be_recorded_for_a_contract_purpose(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("teaching"))
    with pytest.raises(ValidationFailed, match="rests on contract"):
        validate_event(rule, EventKind.given)
    with pytest.raises(ValidationFailed, match=r"GDPR Art\. 21"):
        validate_event(rule, EventKind.objected)


def test_legitimate_interest_runs_until_an_objection(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("personalisation"))
    li = LegalBasis.legitimate_interests
    assert decide(rule, None, now=NOW) == Decision(True, li, Reason.basis_applies)
    assert decide(rule, StateView(EventKind.objected, 4), now=NOW) == Decision(False, li, Reason.objection, 4)


def test_an_ordinary_objection_can_be_overruled_on_compelling_grounds(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("personalisation"))
    validate_event(rule, EventKind.objection_overruled)
    state = StateView(EventKind.objection_overruled, 5)
    assert decide(rule, state, now=NOW) == Decision(True, LegalBasis.legitimate_interests, Reason.compelling_grounds, 5)


def test_an_objection_to_direct_marketing_is_absolute() -> None:
    rule = TargetRule(
        target=Target.purpose("newsletter"),
        basis=LegalBasis.legitimate_interests,
        direct_marketing=True,
        objection_absolute=True,
    )
    with pytest.raises(Conflict, match="absolute"):
        validate_event(rule, EventKind.objection_overruled)
    for status in (EventKind.objected, EventKind.objection_overruled):
        decision = decide(rule, StateView(status, 8), now=NOW)
        assert decision == Decision(False, LegalBasis.legitimate_interests, Reason.objection_absolute, 8)


def test_unsubscribing_from_a_legitimate_interest_topic_is_an_objection(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    assert opt_out_kind(rules.rule(Target.topic("birthday-greetings", "email"))) is EventKind.objected
    assert opt_out_kind(rules.rule(Target.purpose("analytics"))) is EventKind.withdrawn


def test_gpc_opt_out_is_refused_for_purposes_gpc_does_not_cover(nexalearn: Declaration) -> None:
    rule = rules_for(nexalearn, "nexalearn").rule(Target.purpose("analytics"))
    with pytest.raises(ValidationFailed, match="GPC does not apply"):
        validate_event(rule, EventKind.gpc_opt_out)


def test_undeclared_targets_are_not_found(nexalearn: Declaration) -> None:
    rules = rules_for(nexalearn, "nexalearn")
    with pytest.raises(NotFound, match="'newsletter'"):
        rules.rule(Target.purpose("newsletter"))
    with pytest.raises(NotFound, match="birthday-greetings"):
        rules.rule(Target.topic("birthday-greetings", "sms"))  # declared on e-mail only


def test_the_latest_state_is_the_one_that_happened_last_then_the_one_recorded_last() -> None:
    older, newer = StateView(EventKind.withdrawn, 3), _given(event_id=11)
    assert latest(older, None, newer) is newer
    assert latest(None, None) is None
    live = StateView(EventKind.withdrawn, 3, occurred_at=NOW)
    imported_later = StateView(EventKind.given, 11, occurred_at=NOW - timedelta(days=30))
    assert latest(live, imported_later) is live


def test_rules_are_built_once_per_loaded_declaration(nexalearn: Declaration) -> None:
    assert rules_for(nexalearn, "nexalearn") is rules_for(nexalearn, "nexalearn")


# -- Do Not Call ----------------------------------------------------------------------------------
def _marketing_sms(basis: LegalBasis) -> TargetRule:
    return TargetRule(target=Target.topic("offers", Channel.sms), basis=basis, direct_marketing=True)


def test_dnc_applies_to_marketing_by_sms_and_voice_only() -> None:
    assert dnc_applies(_marketing_sms(LegalBasis.consent))
    email = TargetRule(target=Target.topic("offers", Channel.email), basis=LegalBasis.consent, direct_marketing=True)
    assert not dnc_applies(email)
    service = TargetRule(target=Target.topic("receipts", Channel.sms), basis=LegalBasis.contract)
    assert not dnc_applies(service)


def test_a_registered_number_blocks_marketing_on_deemed_consent() -> None:
    rule = _marketing_sms(LegalBasis.deemed_consent)
    allowed = decide(rule, None, now=NOW)
    assert allowed.allowed
    assert apply_dnc(allowed, None, registered=True).reason is Reason.dnc_registered
    assert apply_dnc(allowed, None, registered=False) is allowed
    assert apply_dnc(allowed, None, registered=None).reason is Reason.dnc_unchecked


def test_evidenced_consent_overrides_the_register_but_unevidenced_does_not() -> None:
    rule = _marketing_sms(LegalBasis.consent)
    evidenced = _given(evidenced=True)
    assert apply_dnc(decide(rule, evidenced, now=NOW), evidenced, registered=True).allowed
    bare = _given(evidenced=False)
    assert apply_dnc(decide(rule, bare, now=NOW), bare, registered=True).reason is Reason.dnc_registered


# -- purposes that need a guardian -----------------------------------------------------------------
def _guardian(rule: TargetRule, age: int | None, guardians: set[str], acting: str | None) -> Decision:
    given = Decision(True, rule.basis, Reason.consent_given, 7)
    return guardian_refusal(rule, given, age=age, consent_age=16, guardians=guardians, decided_by_guardian=acting)


def test_guardian_refusal_on_a_consent_purpose_wants_the_consent_of_a_guardian_linked_now() -> None:
    rule = TargetRule(target=Target.purpose("p"), basis=LegalBasis.consent, purpose_id="p", guardian_required=True)
    refused = Decision(False, LegalBasis.consent, Reason.guardian_required, 7)
    assert _guardian(rule, 12, set(), None) == refused
    assert _guardian(rule, 12, {"g"}, None) == refused
    assert _guardian(rule, 12, {"g"}, "other") == refused
    assert _guardian(rule, 12, {"g"}, "g").allowed
    assert _guardian(rule, 16, set(), None).allowed
    assert _guardian(rule, None, set(), None).allowed  # no birth date known
    plain = TargetRule(target=Target.purpose("q"), basis=LegalBasis.consent, purpose_id="q")
    assert _guardian(plain, 12, set(), None).allowed


def test_guardian_refusal_on_another_basis_wants_a_linked_guardian_only() -> None:
    rule = TargetRule(target=Target.purpose("c"), basis=LegalBasis.contract, purpose_id="c", guardian_required=True)
    assert _guardian(rule, 12, set(), None).reason is Reason.guardian_required
    assert _guardian(rule, 12, {"g"}, None).allowed
