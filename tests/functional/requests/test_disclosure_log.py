"""The disclosure log: recorded by breach notices (API and CLI), Art. 19 task completions and package
deliveries; listed over HTTP (``disclosures:read``) and by ``dataright requests disclosures``; people as keyed
hashes only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_helpers import NEXALEARN, email, file_and_verify, staff
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dataright.audit.models import AuditEntry
from dataright.cli.main import app as cli
from dataright.config import Settings, use_settings
from dataright.declarations.periods import Period
from dataright.errors import ValidationFailed
from dataright.identity import service as identity
from dataright.mail.service import recipient_hash
from dataright.requests import api as requests_api
from dataright.requests import disclosures
from dataright.requests.disclosures import DisclosureKind
from dataright.storage.engine import make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from dataright.web.dependencies import WindowLimiter
from fixtures.db import TEST_SECRET
from fixtures.web import MakeKey

runner = CliRunner()
BREACH = {
    "occurred_at": "2026-11-30T08:00:00+01:00",
    "aware_at": "2026-11-30T10:00:00+01:00",
    "description": "A laptop with an unencrypted export was stolen.",
    "systems": ["scanditek"],
    "categories": ["user.name", "user.contact.email"],
    "affected_people": 2,
    "likely_consequences": "Phishing e-mails.",
    "measures": "Passwords reset.",
}
MESSAGE = {"description": "d", "likely_consequences": "c", "measures": "m", "contact": "dpo@nexalearn.no"}


@pytest.fixture(autouse=True)
def roomy_limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))
    yield


def test_a_disclosure_is_logged_with_a_keyed_hash_and_found_for_the_person_within_the_year(
    session: Session, settings: Settings
) -> None:
    digest = recipient_hash("kari@example.no")
    now = datetime.now(UTC)
    old = disclosures.record_disclosure(
        session,
        controller_id="nestpros",
        kind=DisclosureKind.processor_share,
        recipient="marketing-partners",
        purpose="marketing",
        subject_hash=digest,
        actor="t",
        disclosed_at=now - timedelta(days=400),
    )
    recent = disclosures.record_disclosure(
        session,
        controller_id="nestpros",
        kind="audience_export",
        recipient="marketing-partners",
        subject_hash=digest,
        actor="t",
        disclosed_at=now - timedelta(days=20),
    )
    disclosures.record_disclosure(
        session,
        controller_id="nestpros",
        kind="breach_notice",
        recipient="data_subject",
        subject_hash=digest,
        actor="t",
    )
    year_ago = disclosures.since(Period(years=1), now)
    found = disclosures.of_subject(session, controller_ids=["nestpros"], hashes=[("email", digest)], start=year_ago)
    assert [d.id for d in found][:1] == [recent.id] and old.id not in [d.id for d in found]
    assert disclosures.recipients_of_subject(
        session, controller_id="nestpros", hashes=[("email", digest)], start=year_ago
    ) == ["marketing-partners"]  # the person themself is not an organisation a correction goes to
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "disclosure.recorded").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and "kari" not in str(entry.details) and entry.details["kind"] == "breach_notice"


def test_a_year_before_a_leap_day_is_the_28th_of_february() -> None:
    assert disclosures.since(Period(years=1), datetime(2028, 2, 29, 12, tzinfo=UTC)) == datetime(
        2027, 2, 28, 12, tzinfo=UTC
    )
    assert disclosures.since(Period(months=1), datetime(2026, 3, 31, tzinfo=UTC)) == datetime(2026, 2, 28, tzinfo=UTC)


def test_bad_disclosures_are_refused_and_nothing_is_logged(session: Session, settings: Settings) -> None:
    before = len(disclosures.list_disclosures(session, controller_id="nestpros"))
    with pytest.raises(ValidationFailed, match="kind: unknown 'gossip'"):
        disclosures.record_disclosure(session, controller_id="nestpros", kind="gossip", recipient="x", actor="t")
    with pytest.raises(ValidationFailed, match="people: -3 is negative"):
        disclosures.record_disclosure(
            session, controller_id="nestpros", kind="audience_export", recipient="x", people=-3, actor="t"
        )
    with pytest.raises(ValidationFailed, match="disclosed_at: lies in the future"):
        disclosures.record_disclosure(
            session,
            controller_id="nestpros",
            kind="audience_export",
            recipient="x",
            actor="t",
            disclosed_at=datetime.now(UTC) + timedelta(days=1),
        )
    assert len(disclosures.list_disclosures(session, controller_id="nestpros")) == before


def test_a_batch_of_people_is_logged_one_row_each(session: Session, settings: Settings) -> None:
    hashes = [recipient_hash(f"p{i}@example.sg") for i in range(7)]
    logged = disclosures.record_disclosures(
        session,
        controller_id="nestpros",
        kind="audience_export",
        recipient="marketing-partners",
        subject_hashes=iter(hashes),
        purpose="marketing",
        reference="export-1",
        actor="t",
        batch=3,
    )
    assert logged == 7
    rows = disclosures.list_disclosures(session, controller_id="nestpros", reference="export-1")
    assert sorted(r.subject_hash or "" for r in rows) == sorted(hashes) and {r.people for r in rows} == {1}


def _breach_notified(client: TestClient, writer: dict[str, str], addresses: list[str]) -> str:
    base = "/api/v1/controllers/nexalearn/breaches"
    opened = client.post(base, json=BREACH, headers=writer)
    assert opened.status_code == 201, opened.text
    record = opened.json()[0]
    assessed = client.post(f"{base}/{record['id']}/assessment", json={"risk": "high"}, headers=writer)
    assert assessed.status_code == 200, assessed.text
    queued = client.post(
        f"{base}/{record['id']}/subject-notices",
        json={"recipients": [{"email": a, "language": "nb"} for a in addresses], "messages": {"nb": MESSAGE}},
        headers=writer,
    )
    assert queued.status_code == 201 and queued.json()["queued"] == len(addresses), queued.text
    return str(record["reference"])


def test_breach_notices_sent_over_http_are_in_the_log_and_listed_to_a_disclosures_key_only(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    writer = staff(make_key(scopes=["breach:write"], controllers=[NEXALEARN]))
    addresses = [email(), email()]
    reference = _breach_notified(client, writer, addresses)
    reader = staff(make_key(scopes=["disclosures:read"], controllers=[NEXALEARN]))
    listed = client.get(
        "/api/v1/disclosures",
        params={"controller": NEXALEARN, "kind": "breach_notice", "reference": reference},
        headers=reader,
    )
    assert listed.status_code == 200, listed.text
    rows = listed.json()["disclosures"]
    assert sorted(r["subject_hash"] for r in rows) == sorted(recipient_hash(a) for a in addresses)
    assert {(r["recipient"], r["kind"], r["people"]) for r in rows} == {("data_subject", "breach_notice", 1)}
    assert not any(a in listed.text for a in addresses)
    other = staff(make_key(scopes=["disclosures:read"], controllers=["nestpros"]))
    assert client.get("/api/v1/disclosures", params={"controller": NEXALEARN}, headers=other).status_code == 403
    breach_reader = staff(make_key(scopes=["breach:read"], controllers=[NEXALEARN]))
    assert client.get("/api/v1/disclosures", params={"controller": NEXALEARN}, headers=breach_reader).status_code == 403
    naive = client.get(
        "/api/v1/disclosures", params={"controller": NEXALEARN, "since": "2026-01-01T00:00"}, headers=reader
    )
    assert naive.status_code == 422 and "since: give the UTC offset" in naive.json()["detail"]


def test_an_art_19_notice_ticked_off_is_logged_against_the_recipient(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": address})
    key = staff(make_key(scopes=["requests:write", "disclosures:read"], controllers=[NEXALEARN]))
    filed = file_and_verify(app, client, NEXALEARN, "rectification", address, language="en")
    ref = filed["reference"]
    started = client.post(f"/api/v1/requests/{ref}/start", params={"controller": NEXALEARN}, headers=key).json()
    notices = [t for t in started["tasks"] if t["kind"] == "notify_recipient"]
    assert notices
    for task in notices:
        done = client.post(
            f"/api/v1/requests/{ref}/tasks/{task['id']}/done", params={"controller": NEXALEARN}, json={}, headers=key
        )
        assert done.status_code == 200, done.text
    listed = client.get("/api/v1/disclosures", params={"controller": NEXALEARN, "reference": ref}, headers=key).json()[
        "disclosures"
    ]
    assert sorted(r["recipient"] for r in listed) == sorted(t["target"] for t in notices)
    assert {r["kind"] for r in listed} == {"recipient_notice"}
    assert {r["subject_hash"] for r in listed} == {recipient_hash(address)}


@pytest.fixture
def configured(fresh_db_url: str, examples_dir: Path) -> Iterator[Path]:
    upgrade(fresh_db_url)
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET))
    yield examples_dir
    use_settings(None)


def _cli(*args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_breach_notices_queued_from_the_cli_are_listed_by_requests_disclosures(
    configured: Path, tmp_path: Path
) -> None:
    nexalearn = str(configured / "nexalearn")
    opened = _cli(
        "breach", "open", "-c", "nexalearn", "-d", nexalearn, "--occurred", "2026-11-27T17:00+01:00",
        "--aware", "2026-11-27T19:30+01:00", "--system", "scanditek", "--category", "user.contact.email",
        "--people", "2", "--description", "export exposed", "--consequences", "phishing", "--measures", "revoked",
    )  # fmt: skip
    reference = next(line.split()[1] for line in opened.output.splitlines() if line.startswith("opened"))
    _cli("breach", "assess", reference, "--risk", "high", "--on", "2026-11-28")
    subjects = tmp_path / "people.csv"
    subjects.write_text("email,language\nkari@example.no,nb\nsven@example.se,sv\n", encoding="utf-8")
    messages = tmp_path / "messages.yaml"
    messages.write_text(
        "".join(
            f"{lang}: {{description: d, likely_consequences: c, measures: m, contact: x}}\n" for lang in ("nb", "sv")
        ),
        encoding="utf-8",
    )
    _cli("breach", "notify", reference, "--subjects", str(subjects), "--messages", str(messages), "-d", nexalearn)
    listed = _cli("requests", "disclosures", "--controller", "nexalearn", "--kind", "breach_notice")
    assert "2 disclosure(s)" in listed.output and "kari" not in listed.output
    lines = _cli("requests", "disclosures", "--reference", reference, "--json").output.splitlines()
    assert len(lines) == 2 and all('"kind":"breach_notice"' in line for line in lines)
    rows = [json.loads(line) for line in lines]
    assert {r["subject_hash"] for r in rows} == {recipient_hash("kari@example.no"), recipient_hash("sven@example.se")}
    bad = runner.invoke(cli, ["requests", "disclosures", "--kind", "gossip"])
    assert bad.exit_code == 1 and "kind: unknown 'gossip'" in bad.output
    bad_since = runner.invoke(cli, ["requests", "disclosures", "--since", "yesterday"])
    assert bad_since.exit_code == 1 and "--since 'yesterday'" in bad_since.output
