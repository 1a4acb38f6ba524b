"""``dataright consent import`` and ``dataright audiences export`` against a real database."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from consent_helpers import NESTIT, NEXALEARN, device_token, new_subject
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dataright.audit.models import AuditEntry
from dataright.cli.main import app
from dataright.config import Settings, use_settings
from dataright.consent import service
from dataright.consent.audiences import HASHED_IDENTIFIERS_NOTE
from dataright.consent.models import ConsentEvent
from dataright.consent.rules import EventKind, Method
from dataright.consent.targets import Target
from dataright.declarations.schema import Declaration
from dataright.requests.models import Disclosure
from dataright.storage.engine import make_engine, make_session_factory, session_scope
from dataright.storage.migrate import upgrade
from dataright.storage.types import utcnow
from fixtures.db import TEST_SECRET

runner = CliRunner()
HEADER = "email,phone,birth_date,purpose,topic,channel,status,occurred_at,text_hash,language\n"


@pytest.fixture
def database(fresh_db_url: str, examples_dir: Path) -> Iterator[Engine]:
    """A migrated database of its own (the CLI commits) with the three examples configured."""
    declarations = [examples_dir / name for name in ("nexalearn", "nestit-group", "nestpros")]
    use_settings(Settings(database_url=fresh_db_url, secret_key=TEST_SECRET, declarations=declarations))
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    yield engine
    engine.dispose()
    use_settings(None)


def _count(engine: Engine, controller_id: str) -> int:
    with session_scope(make_session_factory(engine), write=False) as session:
        return session.execute(
            select(func.count()).select_from(ConsentEvent).where(ConsentEvent.controller_id == controller_id)
        ).scalar_one()


def _recent(days: int = 10) -> str:
    return (utcnow() - timedelta(days=days)).isoformat()


# -- import ---------------------------------------------------------------------------------------
def test_a_bad_file_is_reported_by_line_and_nothing_is_written(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(
        HEADER
        + f"ok@example.org,,,analytics,,,given,{_recent()},,nb\n"
        + f"not-an-address,,,analytics,,,given,{_recent()},,\n"
        + f"fine@example.org,,,teaching,,,given,{_recent()},,\n"
        + "late@example.org,,,analytics,,,given,2025-01-01T10:00:00,,\n"
        + f"who@example.org,,,analytics,,,maybe,{_recent()},xyz,\n"
    )
    result = runner.invoke(app, ["consent", "import", str(path), "--controller", NEXALEARN])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{path}:3 email: not a valid e-mail address" in lines[0]
    assert f"{path}:4 purpose: purpose 'teaching' rests on contract, not consent; there is no given to record" in lines
    assert f"{path}:5 occurred_at: '2025-01-01T10:00:00' has no time zone; add Z or an offset such as +01:00" in lines
    assert f"{path}:6 status: 'maybe' is not one of given, withdrawn, refused, objected" in lines
    assert any(line.startswith(f"{path}:6 text_hash:") for line in lines)
    assert "5 problem(s)" in result.output
    assert "nothing was imported" in result.output
    assert _count(database, NEXALEARN) == 0


def test_a_good_file_is_imported_once_however_often_it_is_run(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    child_birth = date(date.today().year - 10, 1, 1).isoformat()
    path.write_text(
        HEADER
        + f"kari@example.org,,,analytics,,,given,{_recent()},{'a' * 64},nb\n"
        + f"kari@example.org,,,analytics,,,withdrawn,{_recent(2)},,\n"
        + f"ola@example.org,,{child_birth},analytics,,,given,{_recent()},,\n"
        + f"per@example.org,+47 912 34 567,,,birthday-greetings,email,objected,{_recent()},,\n"
    )
    first = runner.invoke(app, ["consent", "import", str(path), "--controller", NEXALEARN, "--batch-size", "2"])
    assert first.exit_code == 0, first.output
    assert "4 row(s): 4 recorded (1 refused by the age rule), 0 already imported" in first.output
    assert _count(database, NEXALEARN) == 4
    again = runner.invoke(app, ["consent", "import", str(path), "--controller", NEXALEARN])
    assert again.exit_code == 0, again.output
    assert "4 row(s): 0 recorded (0 refused by the age rule), 4 already imported" in again.output
    assert _count(database, NEXALEARN) == 4
    with session_scope(make_session_factory(database), write=False) as session:
        kinds = session.execute(select(ConsentEvent.kind).order_by(ConsentEvent.id)).scalars().all()
        imports = session.execute(select(AuditEntry).where(AuditEntry.action == "consent.imported")).scalars().all()
    assert kinds == ["given", "withdrawn", "refused", "objected"]
    # the re-run wrote nothing, not even an audit entry
    assert [e.details for e in imports] == [{"rows": 4, "recorded": 4, "already_imported": 0, "suppressed": 0}]


def test_an_import_key_reused_for_another_row_is_named_and_nothing_is_written(database: Engine, tmp_path: Path) -> None:
    header = "email,purpose,status,occurred_at,import_key\n"
    first = tmp_path / "first.csv"
    first.write_text(header + f"kari@example.org,analytics,given,{_recent()},crm-1\n")
    assert runner.invoke(app, ["consent", "import", str(first), "-c", NEXALEARN]).exit_code == 0
    again = runner.invoke(app, ["consent", "import", str(first), "-c", NEXALEARN])
    assert "1 row(s): 0 recorded (0 refused by the age rule), 1 already imported" in again.output
    changed = tmp_path / "changed.csv"
    changed.write_text(
        header
        + f"ola@example.org,analytics,given,{_recent(3)},crm-2\n"
        + f"kari@example.org,analytics,withdrawn,{_recent()},crm-1\n"
    )
    result = runner.invoke(app, ["consent", "import", str(changed), "-c", NEXALEARN])
    assert result.exit_code == 1
    assert f"{changed}:3 import_key: 'crm-1' was imported before for a different event (kind given, not withdrawn)" in (
        result.output
    )
    assert "1 row(s) of" in result.output and "reuse an import key; nothing was imported" in result.output
    assert _count(database, NEXALEARN) == 1
    other_person = tmp_path / "other.csv"
    other_person.write_text(header + f"per@example.org,analytics,given,{_recent()},crm-1\n")
    result = runner.invoke(app, ["consent", "import", str(other_person), "-c", NEXALEARN, "--validate-only"])
    assert result.exit_code == 1
    assert "(another subject or device)" in result.output
    assert _count(database, NEXALEARN) == 1


def test_validate_only_writes_nothing(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(HEADER + f"kari@example.org,,,analytics,,,given,{_recent()},,\n")
    result = runner.invoke(app, ["consent", "import", str(path), "-c", NEXALEARN, "--validate-only"])
    assert result.exit_code == 0, result.output
    assert "1 row(s), no problems" in result.output
    assert _count(database, NEXALEARN) == 0


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "bar"])
def test_the_delimiter_is_sniffed_from_the_file(database: Engine, tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "consents.csv"
    rows = [
        ["email", "purpose", "status", "occurred_at", "source"],
        ["a@example.org", "analytics", "given", _recent(), "crm export, 2024"],
        ["b@example.org", "analytics", "withdrawn", _recent(), "crm"],
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    result = runner.invoke(app, ["consent", "import", str(path), "-c", NEXALEARN])
    assert result.exit_code == 0, result.output
    assert "2 row(s): 2 recorded" in result.output
    assert _count(database, NEXALEARN) == 2


def test_a_near_miss_purpose_name_is_suggested(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(f"email;purpose;status;occurred_at\nkari@example.org;analytic;given;{_recent()}\n")
    result = runner.invoke(app, ["consent", "import", str(path), "-c", NEXALEARN])
    assert result.exit_code == 1
    expected = (
        f"{path}:2 purpose: purpose 'analytic' is not declared for controller '{NEXALEARN}'; did you mean 'analytics'?"
    )
    assert expected in result.output
    far = tmp_path / "far.csv"
    far.write_text(f"email,purpose,status,occurred_at\nkari@example.org,zzzz,given,{_recent()}\n")
    assert "did you mean" not in runner.invoke(app, ["consent", "import", str(far), "-c", NEXALEARN]).output


def test_a_configuration_error_is_blamed_on_the_configuration_not_the_file(
    database: Engine, tmp_path: Path, examples_dir: Path
) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(f"email,purpose,status,occurred_at\nkari@example.org,analytics,given,{_recent()}\n")
    url = str(database.url.render_as_string(hide_password=False))
    use_settings(Settings(database_url=url, secret_key=None, declarations=[examples_dir / "nexalearn"]))
    result = runner.invoke(app, ["consent", "import", str(path), "-c", NEXALEARN])
    assert result.exit_code == 1
    assert "error: configuration: no secret key" in result.output
    assert "the file is not at fault: fix the configuration and run again" in result.output
    assert f"{path}:" not in result.output and "fix the row" not in result.output
    assert _count(database, NEXALEARN) == 0


def test_unknown_columns_and_controllers_are_named(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text("mail,purpose\nx@example.org,analytics\n")
    result = runner.invoke(app, ["consent", "import", str(path), "-c", NEXALEARN])
    assert result.exit_code == 1
    assert f"{path}:1 header: unknown column 'mail' (did you mean 'email'?)" in result.output
    result = runner.invoke(app, ["consent", "import", str(path), "-c", "nobody"])
    assert result.exit_code == 1
    assert "--controller nobody: no loaded declaration has a controller 'nobody'" in result.output


# -- audience export ------------------------------------------------------------------------------
def _sha(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def _seed_audience(session: Session, nestit: Declaration) -> dict[str, str]:
    """One subject per situation; returns address -> situation."""
    purpose = Target.purpose("ad-network-matching")
    situations = {
        "given": [EventKind.given],
        "withdrawn": [EventKind.given, EventKind.withdrawn],
        "objected": [EventKind.given, EventKind.objected],
        "refused": [EventKind.refused],
        "nothing": [],
    }
    addresses: dict[str, str] = {}
    for situation, kinds in situations.items():
        address = f"{situation}.person@example.se"
        subject = new_subject(session, NESTIT, address=address)
        addresses[address] = situation
        for kind in kinds:
            service.record(
                session,
                declaration=nestit,
                controller_id=NESTIT,
                target=purpose,
                kind=kind,
                method=Method.web_form,
                actor="test",
                subject_id=subject.id,
            )
    expired = new_subject(session, NESTIT, address="Expired.Person@Example.se")
    service.record(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        target=purpose,
        kind=EventKind.given,
        method=Method.import_,
        actor="test",
        subject_id=expired.id,
        occurred_at=utcnow() - timedelta(days=400),
    )
    gpc = new_subject(session, NESTIT, address="gpc.person@example.se")
    service.record(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        target=purpose,
        kind=EventKind.given,
        method=Method.web_form,
        actor="test",
        subject_id=gpc.id,
    )
    service.record_gpc(session, declaration=nestit, controller_id=NESTIT, actor="test", subject_id=gpc.id)
    also = new_subject(session, NESTIT, address="  Also.Given@Example.SE ")
    service.record(
        session,
        declaration=nestit,
        controller_id=NESTIT,
        target=purpose,
        kind=EventKind.given,
        method=Method.web_form,
        actor="test",
        subject_id=also.id,
    )
    other_controller = new_subject(session, "provendo-as", address="given.person@example.se")
    service.record(
        session,
        declaration=nestit,
        controller_id="provendo-as",
        target=purpose,
        kind=EventKind.given,
        method=Method.web_form,
        actor="test",
        subject_id=other_controller.id,
    )
    return addresses


def test_the_audience_is_exactly_the_subjects_with_consent_now(
    database: Engine, nestit: Declaration, tmp_path: Path
) -> None:
    with session_scope(make_session_factory(database)) as session:
        _seed_audience(session, nestit)
    output = tmp_path / "audience.txt"
    command = ["audiences", "export", "--controller", NESTIT, "--purpose", "ad-network-matching", "-o", str(output)]
    several = runner.invoke(app, command)
    assert several.exit_code == 1
    assert "--recipient: 'ad-network-matching' goes to several recipients; choose one of google-ads, meta-ads" in (
        several.output
    )
    assert not output.exists()
    result = runner.invoke(app, [*command, "--recipient", "meta-ads"])
    assert result.exit_code == 0, result.output
    assert sorted(output.read_text().splitlines()) == sorted(
        [_sha("given.person@example.se"), _sha("also.given@example.se")]
    )
    assert "2 hashed e-mail address(es)" in result.output
    assert "hashed addresses are personal data" in result.output
    with session_scope(make_session_factory(database), write=False) as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "consent.audience_exported")).scalar_one()
    assert (entry.controller_id, entry.entity_id) == (NESTIT, "ad-network-matching")
    assert entry.details == {
        "count": 2,
        "format": "sha256-email",
        "recipient": "meta-ads",
        "personal_data": HASHED_IDENTIFIERS_NOTE,
    }
    assert "personal data" in entry.details["personal_data"]
    with session_scope(make_session_factory(database), write=False) as session:
        (logged,) = session.execute(select(Disclosure)).scalars()
    assert (logged.controller_id, logged.kind, logged.recipient, logged.purpose, logged.people) == (
        NESTIT,
        "audience_export",
        "meta-ads",
        "ad-network-matching",
        2,
    )
    assert logged.subject_hash is None  # a count: no identifier of anyone in the log


@pytest.mark.parametrize(
    ("purpose", "why"),
    [
        ("personalised-advertising", "declares no recipient that matches audiences"),  # segments kept in-house
        ("order-fulfilment", "rests on contract"),
        ("accounting-nestit-ab", "rests on legal_obligation"),
    ],
)
def test_a_purpose_without_a_matching_recipient_or_on_contract_or_law_has_no_audience(
    database: Engine, tmp_path: Path, purpose: str, why: str
) -> None:
    output = tmp_path / "audience.txt"
    result = runner.invoke(app, ["audiences", "export", "-c", NESTIT, "-p", purpose, "-o", str(output)])
    assert result.exit_code == 1
    assert f"--purpose: {purpose!r} {why}" in result.output
    assert list(tmp_path.iterdir()) == []
    with session_scope(make_session_factory(database), write=False) as session:
        exported = select(func.count()).where(AuditEntry.action == "consent.audience_exported")
        assert session.execute(exported).scalar_one() == 0


def test_a_purpose_consented_through_the_cookie_banner_follows_the_banners_latest_choice(
    database: Engine, nestit: Declaration
) -> None:
    """NestIT shares a hashed address with Google "if you have consented to cookies": its targeting cookie
    names google-conversion-matching as its consent purpose, so rejecting all cookies withdraws it."""

    def banner(session: Session, device: str, accepted: list[str], subject_id: object = None) -> None:
        service.record_cookie_consent(
            session,
            declaration=nestit,
            controller_id=NESTIT,
            device_token=device,
            accepted=accepted,
            actor="test",
            subject_id=subject_id,  # type: ignore[arg-type]
        )

    with session_scope(make_session_factory(database)) as session:
        accepts = new_subject(session, NESTIT, address="accepts@example.se")
        banner(session, device_token(), ["performance", "targeting"], accepts.id)  # logged in: linked
        rejects_later = new_subject(session, NESTIT, address="rejects.later@example.se")
        device = device_token()
        banner(session, device, ["targeting"], rejects_later.id)
        banner(session, device, [])  # "reject all" on the same browser, later, not logged in
        accepts_anonymously = device_token()
        banner(session, accepts_anonymously, ["targeting"])  # nobody logged in on it: no one to send to
        new_subject(session, NESTIT, address="never.asked@example.se")
        only_performance = new_subject(session, NESTIT, address="only.performance@example.se")
        banner(session, device_token(), ["performance"], only_performance.id)
    result = runner.invoke(app, ["audiences", "export", "-c", NESTIT, "-p", "google-conversion-matching"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [_sha("accepts@example.se")]
    assert "to google-ads" in result.stderr


def test_an_unknown_purpose_fails_and_leaves_no_file(database: Engine, tmp_path: Path) -> None:
    output = tmp_path / "audience.txt"
    result = runner.invoke(app, ["audiences", "export", "-c", NESTIT, "-p", "nope", "-o", str(output)])
    assert result.exit_code == 1
    assert "purpose 'nope' is not declared for controller 'nestit-group-ab'" in result.output
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_expire_command_writes_lapsed_consent_into_the_history(database: Engine, nexalearn: Declaration) -> None:
    with session_scope(make_session_factory(database)) as session:
        subject = new_subject(session, NEXALEARN)
        service.record(
            session,
            declaration=nexalearn,
            controller_id=NEXALEARN,
            target=Target.purpose("analytics"),
            kind=EventKind.given,
            method=Method.import_,
            actor="test",
            subject_id=subject.id,
            occurred_at=utcnow() - timedelta(days=400),
        )
    first = runner.invoke(app, ["consent", "expire", "-c", NEXALEARN])
    assert first.exit_code == 0, first.output
    assert "1 consent(s) of nexalearn recorded as expired" in first.output
    assert "0 consent(s)" in runner.invoke(app, ["consent", "expire", "-c", NEXALEARN]).output


def test_hostile_cells_are_refused_by_line_and_column_and_nothing_is_written(database: Engine, tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    future_birth = (date.today() + timedelta(days=3)).isoformat()
    path.write_text(
        "email,birth_date,purpose,status,occurred_at,source,notice_version\n"
        + f"a@example.org,,analytics,given,{_recent()},kari@example.org,\n"
        + f"b@example.org,,analytics,given,{_recent()},call 91234567,\n"
        + f"c@example.org,,analytics,given,{_recent()},form,v1\u202e\n"
        + f"d@example.org,{future_birth},analytics,given,{_recent()},form,\n"
        + "e@example.org,,analytics,given,1969-07-20T20:17:00Z,form,\n"
        + f"f\u200b@example.org,,analytics,given,{_recent()},signup form 2026-03-01,v1\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["consent", "import", str(path), "--controller", NEXALEARN])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith(f"{path}:2 source: contains '@'") for line in lines), result.output
    assert any(line.startswith(f"{path}:3 source: contains a run of 7 or more digits") for line in lines)
    assert any(line.startswith(f"{path}:4 notice_version: contains an invisible formatting") for line in lines)
    assert any(line.startswith(f"{path}:5 birth_date: must lie between 1900-01-01 and today") for line in lines)
    assert any(line.startswith(f"{path}:6 occurred_at:") and "before 1970" in line for line in lines)
    assert not any(line.startswith(f"{path}:7") for line in lines)  # a zero-width space in an address is removed
    assert "kari@example.org" not in result.output and "91234567" not in result.output
    assert "5 problem(s)" in result.output
    assert _count(database, NEXALEARN) == 0
