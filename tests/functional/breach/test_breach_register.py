"""The breach register on the three examples: clocks from the packs, linked records for shared systems,
the assessment, the authority notification, bad input refused with nothing recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from breach_drafts import draft
from sqlalchemy import select
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.breach import service
from dataright.breach.clocks import Clock, ClockState
from dataright.breach.models import Breach, BreachRevision, Risk
from dataright.declarations.schema import Declaration
from dataright.errors import Conflict, ValidationFailed

OSLO = ZoneInfo("Europe/Oslo")
SINGAPORE = ZoneInfo("Asia/Singapore")


def _state(session: Session, breach: Breach, now: datetime) -> ClockState:
    return service.view(session, breach, now=now).states[Clock.authority.value]


def test_a_nexalearn_incident_on_a_friday_evening_is_due_in_72_hours_oslo_time_then_overdue(
    session: Session, nexalearn: Declaration
) -> None:
    (breach,) = service.open_incident(session, nexalearn, "nexalearn", draft(), actor="test")
    due = service.authority_deadline(session, breach)
    assert due is not None and due.isoformat() == "2026-11-30T19:30:00+01:00"
    assert _state(session, breach, datetime(2026, 11, 30, 8, 0, tzinfo=OSLO)) is ClockState.due_soon
    assert _state(session, breach, due + timedelta(seconds=1)) is ClockState.overdue


def test_a_nexalearn_incident_across_the_daylight_saving_change_keeps_72_real_hours(
    session: Session, nexalearn: Declaration
) -> None:
    aware = datetime(2026, 10, 23, 21, 0, tzinfo=OSLO)
    (breach,) = service.open_incident(
        session, nexalearn, "nexalearn", draft(occurred_at=aware - timedelta(hours=1), aware_at=aware), actor="test"
    )
    due = service.authority_deadline(session, breach)
    assert due is not None and due.isoformat() == "2026-10-26T20:00:00+01:00"
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=72)
    assert _state(session, breach, datetime(2026, 10, 26, 20, 0, 1, tzinfo=OSLO)) is ClockState.overdue


def test_a_nestpros_incident_affecting_600_people_is_notifiable_and_due_3_days_after_assessment(
    session: Session, nestpros: Declaration
) -> None:
    aware = datetime(2026, 11, 30, 10, 0, tzinfo=SINGAPORE)
    (breach,) = service.open_incident(
        session,
        nestpros,
        "nestpros",
        draft(
            occurred_at=aware - timedelta(days=1),
            aware_at=aware,
            systems=("marketing-partners",),
            categories=("user.name", "user.contact.email"),
            affected_people=600,
        ),
        actor="test",
    )
    assert breach.timezone == "Asia/Singapore"
    waiting = service.view(session, breach, now=aware)
    assert waiting.states["authority"] is ClockState.waiting
    assert next(d.due for d in waiting.deadlines if d.clock is Clock.assessment).isoformat() == (
        "2026-12-30T23:59:59+08:00"
    )
    service.assess(
        session,
        breach.id,
        service.Assessment(assessed_on=date(2026, 12, 2), significant_harm=False, individuals_exemption="no harm"),
        actor="test",
    )
    assert breach.notifiable is True and breach.individuals_required is False
    assert any("600 people affected" in reason for reason in breach.notifiable_because)
    due = service.authority_deadline(session, breach)
    assert due is not None and due.isoformat() == "2026-12-05T23:59:59+08:00"


def test_prescribed_data_make_a_pdpa_breach_notifiable_whatever_its_size(
    session: Session, nestpros: Declaration
) -> None:
    aware = datetime(2026, 11, 30, 10, 0, tzinfo=SINGAPORE)
    (breach,) = service.open_incident(
        session,
        nestpros,
        "nestpros",
        draft(
            occurred_at=aware,
            aware_at=aware,
            systems=("payment-processors",),
            categories=("user.authorization.password",),
            affected_people=3,
        ),
        actor="test",
    )
    service.assess(session, breach.id, service.Assessment(significant_harm=False), actor="test")
    assert breach.notifiable is True and breach.prescribed_classes == ["account-access"]
    assert breach.individuals_required is True


def test_an_incident_in_a_jointly_used_system_opens_a_linked_record_for_each_controller(
    session: Session, nestit: Declaration
) -> None:
    aware = datetime(2026, 11, 27, 19, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    records = service.open_incident(
        session,
        nestit,
        "nestit-group-ab",
        draft(occurred_at=aware, aware_at=aware, systems=("crm",)),
        actor="test",
    )
    assert [r.controller_id for r in records] == ["nestit-group-ab", "provendo-as"]
    assert len({r.group_id for r in records}) == 1 and len({r.reference for r in records}) == 2
    assert [(r.jurisdiction, r.timezone) for r in records] == [
        ("gdpr-se", "Europe/Stockholm"),
        ("gdpr-no", "Europe/Oslo"),
    ]
    view = service.view(session, records[0])
    assert view.linked == [("provendo-as", records[1].reference)]
    # each has its own clock: assessing and notifying one leaves the other running
    service.assess(session, records[0].id, service.Assessment(risk=Risk.risk, individuals_exemption="low"), actor="t")
    service.record_authority_notification(session, records[0].id, sent_at=aware + timedelta(hours=5), actor="t")
    now = aware + timedelta(hours=6)
    assert service.view(session, records[0], now=now).states["authority"] is ClockState.done
    assert service.view(session, records[1], now=now).states["authority"] is ClockState.running


def test_every_change_is_audited_without_text_and_kept_as_a_revision(session: Session, nexalearn: Declaration) -> None:
    (breach,) = service.open_incident(session, nexalearn, "nexalearn", draft(), actor="test")
    service.assess(session, breach.id, service.Assessment(risk=Risk.unlikely, reason="encrypted, key safe"), actor="t")
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(breach.id)).order_by(AuditEntry.id))
    details = [(e.action, e.details["revision"]) for e in entries]
    assert details == [("breach.opened", 1), ("breach.assessed", 2)]
    history = session.scalars(select(BreachRevision).where(BreachRevision.breach_id == breach.id)).all()
    assert [h.snapshot["status"] for h in history] == ["open", "assessed"]
    assert breach.notifiable is False  # kept in the register all the same (Art. 33(5))


def test_a_late_notification_needs_the_reasons_for_the_delay(session: Session, nexalearn: Declaration) -> None:
    (breach,) = service.open_incident(session, nexalearn, "nexalearn", draft(), actor="test")
    service.assess(session, breach.id, service.Assessment(risk=Risk.high), actor="t")
    late = datetime(2026, 12, 1, 9, 0, tzinfo=OSLO)
    with pytest.raises(ValidationFailed, match="delay_reason"):
        service.record_authority_notification(session, breach.id, sent_at=late, actor="t")
    first = service.record_authority_notification(session, breach.id, sent_at=late, actor="t", delay_reason="forensics")
    second = service.record_authority_notification(session, breach.id, sent_at=late + timedelta(days=2), actor="t")
    assert (first.phase, first.late, second.phase) == (1, True, 2)
    with pytest.raises(Conflict, match="cannot come after the notification"):
        service.assess(session, breach.id, service.Assessment(risk=Risk.risk), actor="t")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"aware_at": datetime(2026, 11, 27, 16, 0, tzinfo=OSLO)}, "aware_at: before occurred_at"),
        ({"affected_people": -1}, "affected_people: negative"),
        ({"affected_records": -5}, "affected_records: negative"),
        ({"systems": ("mainframe",)}, "unknown system(s) mainframe"),
        ({"categories": ("user.shoe_size",)}, "unknown data category(ies) user.shoe_size"),
        ({"aware_at": datetime(2026, 11, 27, 19, 30)}, "aware_at: a time with a UTC offset"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_recorded(
    session: Session, nexalearn: Declaration, change: dict[str, object], expected: str
) -> None:
    before = len(session.scalars(select(Breach.id)).all())
    with pytest.raises(ValidationFailed) as caught:
        service.open_incident(session, nexalearn, "nexalearn", draft(**change), actor="test")
    assert expected in str(caught.value)
    assert len(session.scalars(select(Breach.id)).all()) == before


def test_times_are_stored_in_utc(session: Session, nexalearn: Declaration) -> None:
    (breach,) = service.open_incident(session, nexalearn, "nexalearn", draft(), actor="test")
    session.expire_all()
    stored = session.get(Breach, breach.id)
    assert stored is not None and stored.aware_at == datetime(2026, 11, 27, 18, 30, tzinfo=UTC)
