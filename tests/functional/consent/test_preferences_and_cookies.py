"""Preferences (topics × channels), one-click unsubscribe, cookie banners and linking devices on login."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from consent_helpers import NESTIT, NEXALEARN, device_token, new_subject
from sqlalchemy.orm import Session

from dataright.consent import service
from dataright.consent.models import ConsentEvent
from dataright.consent.rules import EventKind, Method, Reason
from dataright.consent.targets import Target
from dataright.consent.unsubscribe import InvalidUnsubscribeToken, Unsubscribe
from dataright.declarations.schema import Channel, Declaration, LegalBasis
from dataright.errors import ValidationFailed
from dataright.identity import service as identity

NEWSLETTER = Target.topic("newsletter-email", "email")
BRAND_NEWS = Target.topic("brand-news", "email")


def _prefs(session: Session, nestit: Declaration, subject_id: object) -> dict[str, tuple[bool, str, bool]]:
    rows = service.preferences(session, declaration=nestit, controller_id=NESTIT, subject_id=subject_id)  # type: ignore[arg-type]
    return {f"{p.topic_id}:{p.channel}": (p.decision.allowed, p.decision.reason.value, p.changeable) for p in rows}


# -- preferences ----------------------------------------------------------------------------------
def test_preferences_list_every_topic_and_channel_with_what_applies(session: Session, nestit: Declaration) -> None:
    subject = new_subject(session, NESTIT)
    prefs = _prefs(session, nestit, subject.id)
    assert prefs["newsletter-email:email"] == (False, "no_consent", True)
    assert prefs["brand-news:email"] == (True, "basis_applies", True)
    assert set(prefs) >= {"newsletter-sms:sms", "order-messages:email"}


def test_switching_preferences_records_only_changes(session: Session, nestit: Declaration) -> None:
    subject = new_subject(session, NESTIT)
    choices = {NEWSLETTER: True, BRAND_NEWS: True}
    recorded = service.set_preferences(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        subject_id=subject.id,
        choices=choices,
        method=Method.web_form,
        actor="test",
    )
    assert [(e.target, e.kind) for e in recorded] == [("topic:newsletter-email:email", "given")]
    off = service.set_preferences(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        subject_id=subject.id,
        choices={NEWSLETTER: False, BRAND_NEWS: False},
        method=Method.web_form,
        actor="test",
    )
    assert [(e.target, e.kind) for e in off] == [
        ("topic:newsletter-email:email", "withdrawn"),
        ("topic:brand-news:email", "objected"),  # legitimate interest: switching off is an objection
    ]
    prefs = _prefs(session, nestit, subject.id)
    assert prefs["newsletter-email:email"][:2] == (False, "consent_withdrawn")
    assert prefs["brand-news:email"][:2] == (False, "objection_absolute")


def test_a_purpose_level_consent_covers_its_topics_until_a_later_topic_opt_out(
    session: Session, nestit: Declaration
) -> None:
    subject = new_subject(session, NESTIT)
    service.record(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        target=Target.purpose("newsletter"),
        kind=EventKind.given,
        method=Method.web_form,
        actor="test",
        subject_id=subject.id,
    )
    sms = Target.topic("newsletter-sms", Channel.sms)
    assert service.check(session, declaration=nestit, controller_id=NESTIT, target=sms, subject_id=subject.id).allowed
    service.record(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        target=sms,
        kind=EventKind.withdrawn,
        method=Method.web_form,
        actor="test",
        subject_id=subject.id,
    )
    assert not service.check(
        session, declaration=nestit, controller_id=NESTIT, target=sms, subject_id=subject.id
    ).allowed
    assert service.check(
        session, declaration=nestit, controller_id=NESTIT, target=NEWSLETTER, subject_id=subject.id
    ).allowed


def test_messages_sent_under_a_contract_cannot_be_switched_off(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    with pytest.raises(ValidationFailed, match="cannot be switched on or off"):
        service.set_preferences(
            session,
            declaration=nexalearn,
            controller_id=NEXALEARN,
            subject_id=subject.id,
            choices={Target.topic("service-messages", "email"): False},
            method=Method.web_form,
            actor="test",
        )


# -- unsubscribe ----------------------------------------------------------------------------------
def test_list_unsubscribe_headers_carry_a_signed_link_for_the_subject(session: Session, nestit: Declaration) -> None:
    subject = new_subject(session, NESTIT)
    headers = service.unsubscribe_link_headers(
        declaration=nestit, controller_id=NESTIT, subject_id=subject.id, topic_id="newsletter-email", channel="email"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://testserver/u/")
    request = service.unsubscribe_signer().verify(url.rsplit("/", 1)[1])
    assert request == Unsubscribe(NESTIT, str(subject.id), "newsletter-email", Channel.email)


def test_one_click_unsubscribe_withdraws_once(session: Session, nestit: Declaration) -> None:
    subject = new_subject(session, NESTIT)
    service.set_preferences(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        subject_id=subject.id,
        choices={NEWSLETTER: True},
        method=Method.web_form,
        actor="test",
    )
    request = Unsubscribe(NESTIT, str(subject.id), "newsletter-email", Channel.email)
    event = service.unsubscribe(session, declaration=nestit, request=request)
    assert event is not None
    assert (event.kind, event.method, event.source) == ("withdrawn", "one_click", "List-Unsubscribe")
    assert service.unsubscribe(session, declaration=nestit, request=request) is None
    decision = service.check(
        session, declaration=nestit, controller_id=NESTIT, target=NEWSLETTER, subject_id=subject.id
    )
    assert (decision.reason, decision.event_id) == (Reason.consent_withdrawn, event.id)


def test_unsubscribing_from_legitimate_interest_mail_is_an_objection(session: Session, nestit: Declaration) -> None:
    subject = new_subject(session, NESTIT)
    request = Unsubscribe(NESTIT, str(subject.id), "brand-news", Channel.email)
    event = service.unsubscribe(session, declaration=nestit, request=request)
    assert event is not None and event.kind == "objected"


def test_a_forged_token_is_invalid(session: Session, nestit: Declaration) -> None:
    with pytest.raises(InvalidUnsubscribeToken):
        service.unsubscribe_signer().verify("bmVzdGl0.AAAAAAAAAAAAAAAAAAAAAA")


def test_contract_mail_has_no_unsubscribe_link(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    with pytest.raises(ValidationFailed, match="no unsubscribe link"):
        service.unsubscribe_link_headers(
            declaration=nexalearn,
            controller_id=NEXALEARN,
            subject_id=subject.id,
            topic_id="service-messages",
            channel="email",
        )


# -- cookies --------------------------------------------------------------------------------------
def _banner(session: Session, declaration: Declaration, token: str, accepted: list[str], **extra: object) -> list:  # type: ignore[type-arg]
    return service.record_cookie_consent(
        session,
        declaration=declaration,
        controller_id=NEXALEARN,
        device_token=token,
        accepted=accepted,
        actor="banner",
        proof=service.Proof(text="Vi bruker informasjonskapsler ...", language="nb"),
        **extra,  # type: ignore[arg-type]
    )


def _device_check(session: Session, declaration: Declaration, token: str, target: Target) -> object:
    device = identity.find_device(session, NEXALEARN, token)
    assert device is not None
    return service.check(session, declaration=declaration, controller_id=NEXALEARN, target=target, device_id=device.id)


def test_a_banner_records_each_category_and_the_purposes_its_cookies_serve(
    session: Session, nexalearn: Declaration
) -> None:
    token = device_token()
    events = _banner(session, nexalearn, token, ["performance"])
    assert {(e.target, e.kind) for e in events} >= {
        ("cookie:performance", "given"),
        ("cookie:targeting", "refused"),
        ("purpose:analytics", "given"),
    }
    assert all(e.method == "banner" and e.device_id is not None for e in events)
    assert _device_check(session, nexalearn, token, Target.purpose("analytics")).allowed  # type: ignore[attr-defined]
    assert not _device_check(session, nexalearn, token, Target.cookie("targeting")).allowed  # type: ignore[attr-defined]


def test_rejecting_later_withdraws_what_was_accepted(session: Session, nexalearn: Declaration) -> None:
    token = device_token()
    _banner(session, nexalearn, token, ["performance", "functional"])
    events = _banner(session, nexalearn, token, [])
    assert ("cookie:performance", "withdrawn") in {(e.target, e.kind) for e in events}
    assert not _device_check(session, nexalearn, token, Target.purpose("analytics")).allowed  # type: ignore[attr-defined]


def test_gpc_on_the_banner_opts_out_of_targeting_whatever_was_ticked(session: Session, nexalearn: Declaration) -> None:
    token = device_token()
    events = _banner(session, nexalearn, token, ["targeting", "performance"], gpc=True)
    kinds = {e.target: e.kind for e in events}
    assert kinds["cookie:targeting"] == "gpc_opt_out"
    assert kinds["cookie:performance"] == "given"


def test_an_unknown_category_is_refused(session: Session, nexalearn: Declaration) -> None:
    with pytest.raises(ValidationFailed, match="unknown cookie categories"):
        _banner(session, nexalearn, device_token(), ["tasty"])


def _link(session: Session, declaration: Declaration, token: str, subject_id: uuid.UUID) -> list[ConsentEvent]:
    return service.link_device_to_subject(
        session,
        declaration=declaration,
        controller_id=NEXALEARN,
        device_token=token,
        subject_id=subject_id,
        actor="login",
    )


def test_logging_in_links_the_device_and_its_choices_become_the_subjects(
    session: Session, nexalearn: Declaration
) -> None:
    token = device_token()
    _banner(session, nexalearn, token, ["performance"])
    subject = new_subject(session, NEXALEARN)
    copied = service.link_device_to_subject(
        session,
        declaration=nexalearn,
        controller_id=NEXALEARN,
        device_token=token,
        subject_id=subject.id,
        actor="login",
    )
    assert {(e.target, e.kind) for e in copied} >= {("purpose:analytics", "given"), ("cookie:performance", "given")}
    assert all(e.subject_id == subject.id for e in copied)
    decision = service.check(
        session,
        declaration=nexalearn,
        controller_id=NEXALEARN,
        target=Target.purpose("analytics"),
        subject_id=subject.id,
    )
    assert (decision.allowed, decision.basis) == (True, LegalBasis.consent)
    again = service.link_device_to_subject(
        session,
        declaration=nexalearn,
        controller_id=NEXALEARN,
        device_token=token,
        subject_id=subject.id,
        actor="login",
    )
    assert again == []


def test_a_childs_banner_click_does_not_become_the_childs_consent(session: Session, nexalearn: Declaration) -> None:
    token = device_token()
    _banner(session, nexalearn, token, ["performance"])
    child = new_subject(session, NEXALEARN, birth_date=date(date.today().year - 11, 1, 1))
    copied = _link(session, nexalearn, token, child.id)
    by_target = {e.target: (e.kind, e.reason) for e in copied}
    assert by_target["purpose:analytics"] == ("refused", "below_consent_age")


def test_a_banner_sent_while_logged_in_links_at_once(session: Session, nexalearn: Declaration) -> None:
    subject = new_subject(session, NEXALEARN)
    events = _banner(session, nexalearn, device_token(), ["performance"], subject_id=subject.id)
    assert any(e.subject_id == subject.id and e.target == "purpose:analytics" for e in events)
