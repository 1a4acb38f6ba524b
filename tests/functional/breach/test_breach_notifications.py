"""The authority notification (every Art. 33(3) item, the authority's language; the PDPC form's fields) and
the notices to the people concerned, which arrive at a real SMTP server in each person's language."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from breach_drafts import draft
from sqlalchemy.orm import Session, sessionmaker

from dataright.breach import service
from dataright.breach.documents import authority_notification
from dataright.breach.models import Risk
from dataright.config import Settings
from dataright.declarations.schema import Declaration
from dataright.mail.sender import Sender, SmtpTransport
from dataright.storage.engine import session_scope
from fixtures.mail_db import factory, install, installed, mail_settings, outbox_db, outbox_engine
from fixtures.smtp import SmtpServer

__all__ = ["factory", "installed", "outbox_db", "outbox_engine"]  # fixtures used by name below

SINGAPORE = ZoneInfo("Asia/Singapore")


def test_the_nexalearn_authority_notification_has_every_art_33_3_item_in_norwegian(
    session: Session, nexalearn: Declaration
) -> None:
    (breach,) = service.open_incident(session, nexalearn, "nexalearn", draft(affected_records=340), actor="t")
    service.assess(session, breach.id, service.Assessment(risk=Risk.high), actor="t")
    document = authority_notification(service.view(session, breach), nexalearn, "md")
    for item in (
        "Melding om brudd på personopplysningssikkerheten",
        "Til: Datatilsynet",
        "Bruddets art (GDPR Art. 33(3)(a))",
        "Kategorier av personopplysninger:",
        "Omtrentlig antall berørte personer: 120 (anslag)",
        "Omtrentlig antall berørte registreringer av personopplysninger: 340",
        "(GDPR Art. 33(3)(b))",
        "Sannsynlige konsekvenser av bruddet (GDPR Art. 33(3)(c))",
        "(GDPR Art. 33(3)(d))",
        "Frist for å melde til tilsynsmyndigheten: 2026-11-30T19:30+01:00",
        breach.description,
        breach.likely_consequences,
        breach.measures,
        breach.contact,
    ):
        assert item in document, item
    html = authority_notification(service.view(session, breach), nexalearn, "html")
    assert '<html lang="nb">' in html and "<h2>Bruddets art (GDPR Art. 33(3)(a))</h2>" in html


def test_the_nestpros_notification_fills_the_pdpc_form_in_english(session: Session, nestpros: Declaration) -> None:
    aware = datetime(2026, 11, 30, 10, 0, tzinfo=SINGAPORE)
    (breach,) = service.open_incident(
        session,
        nestpros,
        "nestpros",
        draft(occurred_at=aware, aware_at=aware, systems=("marketing-partners",), affected_people=600),
        actor="t",
    )
    service.assess(session, breach.id, service.Assessment(significant_harm=True), actor="t")
    document = authority_notification(service.view(session, breach), nestpros, "md")
    assert "| Number of affected individuals | 600 (estimate) |" in document
    assert (
        "| Date and time the organisation first became aware of (suspected) the breach | 2026-11-30T10:00+08:00 |"
        in (document)
    )
    assert "Deadline for notifying the Commission (s. 26D(1))" in document
    assert "600 people affected, at least 500" in document


def test_subject_notifications_arrive_in_each_persons_language_once(
    factory: sessionmaker[Session],
    outbox_db: str,
    smtp_server: SmtpServer,
    installed: list[Settings],
    nexalearn: Declaration,
) -> None:
    settings = install(installed, mail_settings(outbox_db, smtp_server))
    with session_scope(factory) as session:
        (breach,) = service.open_incident(session, nexalearn, "nexalearn", draft(), actor="t")
        service.assess(session, breach.id, service.Assessment(risk=Risk.high), actor="t")
        breach_id = breach.id
    messages = {
        lang: service.SubjectMessage(
            description=f"DESC-{lang}", likely_consequences=f"CONS-{lang}", measures=f"MEAS-{lang}", contact="dpo"
        )
        for lang in ("en", "nb", "sv")
    }
    recipients = [
        service.Recipient("kari@example.no", "nb"),
        service.Recipient("sven@example.se", "sv"),
        service.Recipient("ann@example.com", "en"),
    ]
    with session_scope(factory) as session:
        queued = service.notify_subjects(
            session, breach_id, recipients=recipients, messages=messages, controller_name="NexaLearn AS", actor="t"
        )
    with session_scope(factory) as session:  # asked again: nobody is told twice
        again = service.notify_subjects(
            session, breach_id, recipients=recipients, messages=messages, controller_name="NexaLearn AS", actor="t"
        )
    assert (queued, again) == (3, 0)
    assert Sender(factory, settings, SmtpTransport(settings)).drain().sent == 3
    arrived = {m["To"]: m for m in smtp_server.messages}
    assert set(arrived) == {"kari@example.no", "sven@example.se", "ann@example.com"}
    expected = {
        "kari@example.no": ("nb", "Hei,"),
        "sven@example.se": ("sv", "Hej,"),
        "ann@example.com": ("en", "Hello,"),
    }
    for address, (lang, greeting) in expected.items():
        body = arrived[address].get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert text.startswith(greeting) and f"DESC-{lang}" in text and "BR-" in text
    with session_scope(factory) as session:
        view = service.view(session, service.get_breach(session, breach_id), now=datetime.now(SINGAPORE))
        assert view.notices == 3 and view.breach.individuals_notified_at is not None


def test_pdpa_people_are_told_only_after_the_commission(session: Session, nestpros: Declaration) -> None:
    aware = datetime(2026, 11, 30, 10, 0, tzinfo=SINGAPORE)
    (breach,) = service.open_incident(
        session,
        nestpros,
        "nestpros",
        draft(occurred_at=aware, aware_at=aware, systems=("marketing-partners",)),
        actor="t",
    )
    service.assess(session, breach.id, service.Assessment(significant_harm=True), actor="t")
    message = service.SubjectMessage(description="d", likely_consequences="c", measures="m", contact="x")
    import pytest

    from dataright.errors import Conflict

    with pytest.raises(Conflict, match="on or after the authority is notified"):
        service.notify_subjects(
            session,
            breach.id,
            recipients=[service.Recipient("a@example.sg", "en")],
            messages={"en": message},
            controller_name="Nestpros",
            actor="t",
        )
    service.record_authority_notification(session, breach.id, sent_at=aware + timedelta(days=1), actor="t")
    assert (
        service.notify_subjects(
            session,
            breach.id,
            recipients=[service.Recipient("a@example.sg", "en")],
            messages={"en": message},
            controller_name="Nestpros",
            actor="t",
        )
        == 1
    )
