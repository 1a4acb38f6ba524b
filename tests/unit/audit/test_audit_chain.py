"""The hash-chained audit log: appends are sealed into a chain, and tampering with raw SQL is caught and located."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from dataright.audit.models import AuditEntry
from dataright.audit.service import append, seal, seal_pending, verify
from dataright.storage.engine import make_session_factory, session_scope


def _append_three(session: Session) -> list[AuditEntry]:
    """Three entries, appended and sealed (each has its ``seq``)."""
    subject = uuid.uuid4()
    entries = [
        append(session, actor="system", action="subject.created", entity_type="subject", entity_id=subject),
        append(
            session,
            actor="key:ab12cd34",
            action="consent.given",
            entity_type="consent_event",
            entity_id=41,
            controller_id="nexalearn",
            details={"purpose": "newsletter", "subject_id": str(subject)},
        ),
        append(
            session,
            actor="cli",
            action="import.finished",
            entity_type="import",
            entity_id="batch-7",
            details={"rows": 120, "rejected": 3},
        ),
    ]
    seal(session)
    for entry in entries:
        session.refresh(entry)
    return entries


def test_an_appended_entry_waits_unsealed_until_the_sealer_chains_it(session: Session) -> None:
    entry = append(session, actor="system", action="test.unsealed", entity_type="test", entity_id="1")
    assert entry.seq is None and entry.hash is None
    assert verify(session).unsealed >= 1
    assert seal(session) >= 1
    session.refresh(entry)
    assert entry.seq is not None and entry.hash is not None
    assert verify(session).unsealed == 0


def test_sealed_entries_are_numbered_without_gaps_and_each_carries_the_previous_hash(session: Session) -> None:
    a, b, c = _append_three(session)
    assert a.seq is not None
    assert (b.seq, c.seq) == (a.seq + 1, a.seq + 2)
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    assert len({a.hash, b.hash, c.hash}) == 3
    report = verify(session)
    assert report.ok, report
    assert report.last_seq == c.seq and report.last_hash == c.hash
    assert report.checked >= 3


def test_an_edited_entry_is_caught_and_named(session: Session) -> None:
    _, edited, _ = _append_three(session)
    session.execute(text("UPDATE audit_entries SET action = 'consent.withdrawn' WHERE id = :id"), {"id": edited.id})
    report = verify(session)
    assert not report.ok
    assert report.first_bad_seq == edited.seq
    assert "does not match its hash" in (report.reason or "")


def test_edited_details_are_caught(session: Session) -> None:
    _, _, edited = _append_three(session)
    session.execute(
        text("UPDATE audit_entries SET details = :d WHERE id = :id"),
        {"d": '{"rows": 1, "rejected": 0}', "id": edited.id},
    )
    assert verify(session).first_bad_seq == edited.seq


def test_a_deleted_entry_is_caught_and_the_next_one_named(session: Session) -> None:
    _, deleted, after = _append_three(session)
    session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": deleted.id})
    report = verify(session)
    assert not report.ok
    assert report.first_bad_seq == after.seq
    assert f"#{deleted.seq} is missing" in (report.reason or "")


def test_a_deleted_and_renumbered_entry_is_caught(session: Session) -> None:
    _, deleted, after = _append_three(session)
    session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": deleted.id})
    session.execute(text("UPDATE audit_entries SET seq = :new WHERE id = :old"), {"new": deleted.seq, "old": after.id})
    report = verify(session)
    assert not report.ok and report.first_bad_seq == deleted.seq


def test_two_swapped_entries_are_caught_at_the_first(session: Session) -> None:
    first, second, _ = _append_three(session)
    # Swap the two rows' places: each keeps its content and hashes but takes the other's seq.
    session.execute(text("UPDATE audit_entries SET seq = -1 WHERE id = :id"), {"id": first.id})
    session.execute(text("UPDATE audit_entries SET seq = :a WHERE id = :b"), {"a": first.seq, "b": second.id})
    session.execute(text("UPDATE audit_entries SET seq = :b WHERE id = :a"), {"b": second.seq, "a": first.id})
    report = verify(session)
    assert not report.ok
    assert report.first_bad_seq == first.seq


def test_a_row_rewritten_with_a_recomputed_hash_still_breaks_the_link_to_its_successor(session: Session) -> None:
    from dataright.audit.service import entry_hash

    _, forged, after = _append_three(session)
    row = session.execute(select(AuditEntry).where(AuditEntry.id == forged.id)).scalar_one()
    assert row.seq is not None and row.prev_hash is not None
    fields = {
        "id": row.seq, "at": row.at, "actor": row.actor, "action": "consent.withdrawn", "entity_type": row.entity_type,
        "entity_id": row.entity_id, "controller_id": row.controller_id, "details": row.details,
        "prev_hash": row.prev_hash,
    }  # fmt: skip
    session.execute(
        text("UPDATE audit_entries SET action = 'consent.withdrawn', hash = :h WHERE id = :id"),
        {"h": entry_hash(**fields), "id": forged.id},
    )
    session.expire_all()
    report = verify(session)
    assert not report.ok
    assert report.first_bad_seq == after.seq
    assert f"does not follow entry #{forged.seq}" in (report.reason or "")


@pytest.mark.parametrize(
    "details",
    [{"email": "kari.nordmann@example.no"}, {"nested": ["ok", "ola@example.com"]}, {"score": 0.5}],
    ids=["email", "nested-email", "float"],
)
def test_details_that_look_like_personal_data_or_floats_are_refused(
    session: Session, details: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="details"):
        append(session, actor="system", action="x", entity_type="t", entity_id="1", details=details)


def test_a_rolled_back_append_leaves_no_gap_in_the_chain(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with pytest.raises(RuntimeError), session_scope(factory) as s:
        append(s, actor="system", action="test.rolled_back", entity_type="test", entity_id="1")
        raise RuntimeError("the change failed")
    with session_scope(factory) as s:
        append(s, actor="system", action="test.kept", entity_type="test", entity_id="2")
    seal_pending(lambda: session_scope(factory))
    with session_scope(factory, write=False) as s:
        report = verify(s)
        assert report.ok and report.unsealed == 0, report


def test_concurrent_appenders_and_sealers_keep_one_unbroken_chain(engine: Engine) -> None:
    factory = make_session_factory(engine)
    errors: list[BaseException] = []
    action = f"test.concurrent.{uuid.uuid4().hex[:8]}"

    def work(worker: int) -> None:
        try:
            for i in range(10):
                with session_scope(factory) as s:
                    append(s, actor="system", action=action, entity_type="test", entity_id=f"{worker}-{i}")
                if i % 3 == 0:  # every worker also seals now and then, as every server process does
                    seal_pending(lambda: session_scope(factory), wait=worker % 2 == 0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seal_pending(lambda: session_scope(factory))
    with session_scope(factory, write=False) as s:
        report = verify(s)
        assert report.ok, report
        count = s.execute(text("SELECT count(*) FROM audit_entries WHERE action = :a"), {"a": action}).scalar_one()
        assert count == 40
