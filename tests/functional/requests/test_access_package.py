"""The access and portability packages, downloaded over HTTP and opened: the Art. 15 section generated from
the declaration, the consent history with receipts, the person's datastore rows from the engine's access run,
the PDPA's past-year disclosures, and the disclosure log entry for the delivery."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from requests_helpers import NESTIT, NESTPROS, NEXALEARN, PROVENDO, email, file_and_verify, mails, staff
from sqlalchemy import create_engine, select, text

from dataright.audit.models import AuditEntry
from dataright.consent import service as consent
from dataright.consent.targets import Target
from dataright.declarations.notice.view import build_notice_view
from dataright.declarations.registry import DeclarationRegistry
from dataright.identity import service as identity
from dataright.mail.service import recipient_hash
from dataright.requests import api as requests_api
from dataright.requests import disclosures
from dataright.storage.engine import make_session_factory, session_scope
from dataright.web.dependencies import WindowLimiter
from fixtures.elearning import populate
from fixtures.web import MakeKey

LINK = re.compile(r"https?://[^/\s]+(/api/v1/requests/[A-Z0-9-]+/package\?token=[A-Za-z0-9._-]+)")


@pytest.fixture(autouse=True)
def roomy_limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(requests_api, "public_limiter", WindowLimiter(10_000))
    yield


@pytest.fixture
def datastore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """NexaLearn's platform database as a SQLite file, its first customer renamed to a fresh address;
    (url, address). The server finds it through NEXALEARN_DB_URL, as the declaration says."""
    url = f"sqlite:///{tmp_path / 'nexalearn.sqlite3'}"
    address = email()
    engine = create_engine(url)
    try:
        populate(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE customers SET email = :e WHERE id = 1"), {"e": address})
    finally:
        engine.dispose()
    monkeypatch.setenv("NEXALEARN_DB_URL", url)
    yield url, address


def _rows(url: str, query: str, address: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(query), {"e": address}).mappings()]
    finally:
        engine.dispose()


def _complete_and_download(
    app: FastAPI, client: TestClient, key: str, controller: str, reference: str, address: str
) -> zipfile.ZipFile:
    done = client.post(f"/api/v1/requests/{reference}/complete", params={"controller": controller}, headers=staff(key))
    assert done.status_code == 200, done.text
    (reply,) = mails(app, controller, address, "request_completed")
    match = LINK.search(reply.text)
    assert match is not None, reply.text
    response = client.get(match.group(1))
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def _lines(package: zipfile.ZipFile, table: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in package.read(f"datastores/nexalearn-platform.{table}.jsonl").splitlines()]


CHILDREN_OF = "SELECT ch.id FROM children ch JOIN customers c ON c.id = ch.guardian_id WHERE c.email = :e"
PAYMENTS_OF = "SELECT p.id FROM payments p JOIN customers c ON c.id = p.customer_id WHERE c.email = :e"


def _with_consent(app: FastAPI, registry: DeclarationRegistry, controller: str, address: str, purpose: str) -> None:
    declaration = registry.controller(controller).declaration
    with session_scope(make_session_factory(app.state.engine)) as session:
        subject = identity.get_or_create_subject(session, controller_id=controller, identifiers={"email": address})
        consent.record(
            session,
            declaration=declaration,
            controller_id=controller,
            target=Target.purpose(purpose),
            kind="given",
            method="web_form",
            actor="test",
            subject_id=subject.id,
        )


def test_the_nexalearn_access_package_holds_art_15_the_consents_and_every_datastore_row_in_norwegian(
    app: FastAPI, client: TestClient, make_key: MakeKey, registry: DeclarationRegistry, datastore: tuple[str, str]
) -> None:
    url, address = datastore
    _with_consent(app, registry, NEXALEARN, address, "analytics")
    key = make_key(scopes=["requests:write", "disclosures:read"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "access", address, language="nb")
    package = _complete_and_download(app, client, key, NEXALEARN, filed["reference"], address)
    names = set(package.namelist())
    assert {"data.json", "index.html", "consent_history.csv"} <= names
    data = json.loads(package.read("data.json"))
    (mine,) = data["controllers"]
    notice = build_notice_view(registry.controller(NEXALEARN).declaration, NEXALEARN, "nb")
    art15 = mine["art15"]
    assert [p["name"] for p in art15["purposes"]] == [p.name for p in notice.purposes]
    assert [p["retention"] for p in art15["purposes"]] == [p.retention for p in notice.purposes]
    assert [r["name"] for r in art15["recipients"]] == [r.name for r in notice.recipients]
    assert [s["name"] for s in art15["processors"]] == [s.name for s in notice.systems]
    assert art15["transfers"] and art15["rights"]["authority_name"] == notice.rights.authority_name
    assert all(p["legal_basis"] and p["categories"] and p["sources"] for p in art15["purposes"])
    # the consent history, each event with its receipt inside the zip
    (given,) = [c for c in mine["consents"] if c["target"] == "purpose:analytics"]
    receipt = json.loads(package.read(given["receipt_file"]))
    assert given["kind"] == "given" and receipt["consentReceiptID"] == given["receipt_id"]
    assert receipt["eventType"] == "given" and receipt["piiControllers"]
    history = list(csv.DictReader(io.StringIO(package.read("consent_history.csv").decode())))
    assert [row["kind"] for row in history] == ["given"]
    assert [r["reference"] for r in mine["requests"]] == [filed["reference"]]
    # the datastore rows: exactly the person's, every one
    tables = {t["table"]: t for t in mine["datastores"]}
    customers = _lines(package, "customers")
    assert [c["email"] for c in customers] == [address]
    expected_children = _rows(url, CHILDREN_OF, address)
    children = _lines(package, "children")
    assert sorted(c["id"] for c in children) == sorted(r["id"] for r in expected_children) and children
    payments = _rows(url, PAYMENTS_OF, address)
    assert tables["payments"]["rows"] == len(payments)
    assert "datastores/nexalearn-platform.payments.csv" in names
    assert mine["datastores_not_included"] == [] and mine["disclosures_before_request"] is None
    page = package.read("index.html").decode()
    assert '<html lang="nb">' in page and "Personopplysningene dine" in page and "Samtykkene dine" in page
    assert notice.purposes[0].name in page and address in page
    # the delivery is in the disclosure log
    log = client.get(
        "/api/v1/disclosures", params={"controller": NEXALEARN, "reference": filed["reference"]}, headers=staff(key)
    ).json()["disclosures"]
    assert [(d["kind"], d["recipient"], d["subject_hash"]) for d in log] == [
        ("access_package", "data_subject", recipient_hash(address))
    ]


def test_a_datastore_this_server_cannot_reach_is_named_as_not_included(
    app: FastAPI, client: TestClient, make_key: MakeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXALEARN_DB_URL", raising=False)
    address = email()
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "access", address, language="en")
    package = _complete_and_download(app, client, key, NEXALEARN, filed["reference"], address)
    (mine,) = json.loads(package.read("data.json"))["controllers"]
    assert mine["datastores"] == [] and [d["dataset"] for d in mine["datastores_not_included"]] == [
        "nexalearn-platform"
    ]
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        built = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "request.package_built").order_by(AuditEntry.id.desc())
        ).first()
        assert built is not None and built.details["reference"] == filed["reference"]
        assert "NEXALEARN_DB_URL" in built.details["not_included"]["nexalearn-platform"]  # for staff, not the person
    assert "NEXALEARN_DB_URL" not in package.read("data.json").decode()
    assert "These systems are not connected" in package.read("index.html").decode()


def test_portability_gives_only_what_the_person_provided_under_consent_or_contract_with_a_json_schema(
    app: FastAPI, client: TestClient, make_key: MakeKey, registry: DeclarationRegistry, datastore: tuple[str, str]
) -> None:
    _url, address = datastore
    _with_consent(app, registry, NEXALEARN, address, "analytics")
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "portability", address, language="en")
    package = _complete_and_download(app, client, key, NEXALEARN, filed["reference"], address)
    names = set(package.namelist())
    assert "index.html" not in names and "schema.json" in names
    schema = json.loads(package.read("schema.json"))
    data = json.loads(package.read("data.json"))
    jsonschema.validate(data, schema)
    customers = _lines(package, "customers")
    assert customers and customers[0]["email"] == address
    assert "password_hash" not in customers[0]  # credentials are not ported
    assert "id" not in customers[0]  # keys are the datastore's, not something the person provided
    events = _lines(package, "web_events")
    assert events and set(events[0]) == {"ip", "path"}  # device_id serves security (legitimate interests) only
    for name in names:
        if name.endswith(".jsonl"):
            table = name.removeprefix("datastores/").removesuffix(".jsonl")
            for line in package.read(name).splitlines():
                jsonschema.validate(json.loads(line), schema["$defs"]["rows"][table])
    (mine,) = data["controllers"]
    assert [c["kind"] for c in mine["consents"]] == ["given"]


def test_a_nestpros_access_reply_lists_the_disclosures_of_the_year_before_the_request(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    digest = recipient_hash(address)
    now = datetime.now(UTC)
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NESTPROS, identifiers={"email": address})
        for days, recipient in ((400, "edtech-providers"), (30, "marketing-partners")):
            disclosures.record_disclosure(
                session,
                controller_id=NESTPROS,
                kind="audience_export",
                recipient=recipient,
                purpose="promotions",
                subject_hash=digest,
                actor="test",
                disclosed_at=now - timedelta(days=days),
            )
    key = make_key(scopes=["requests:write"], controllers=[NESTPROS])
    filed = file_and_verify(app, client, NESTPROS, "access", address, language="en")
    package = _complete_and_download(app, client, key, NESTPROS, filed["reference"], address)
    (mine,) = json.loads(package.read("data.json"))["controllers"]
    covered = mine["disclosures_before_request"]
    assert covered["reference"] == "s. 21(1)(b), s. 22(2)"
    assert [(e["recipient"], e["purpose"]) for e in covered["entries"]] == [("marketing-partners", "promotions")]
    page = package.read("index.html").decode()
    assert "How your personal data was used or disclosed in the year before your request" in page
    assert "shared with a marketing or advertising partner" in page


def test_a_pdpa_correction_goes_to_every_organisation_the_data_was_disclosed_to_in_the_past_year(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    digest = recipient_hash(address)
    now = datetime.now(UTC)
    with session_scope(make_session_factory(app.state.engine)) as session:
        identity.get_or_create_subject(session, controller_id=NESTPROS, identifiers={"email": address})
        for days, recipient in ((20, "Acme Tutors Pte Ltd"), (500, "Old Partner Pte Ltd")):
            disclosures.record_disclosure(
                session,
                controller_id=NESTPROS,
                kind="third_party_disclosure",
                recipient=recipient,
                subject_hash=digest,
                actor="test",
                disclosed_at=now - timedelta(days=days),
            )
    key = make_key(scopes=["requests:write"], controllers=[NESTPROS])
    filed = file_and_verify(app, client, NESTPROS, "rectification", address, language="en")
    started = client.post(
        f"/api/v1/requests/{filed['reference']}/start", params={"controller": NESTPROS}, headers=staff(key)
    ).json()
    targets = {t["target"]: t["label"] for t in started["tasks"] if t["kind"] == "notify_recipient"}
    assert "Acme Tutors Pte Ltd" in targets and "Old Partner Pte Ltd" not in targets
    assert "s. 21(1)(b), s. 22(2)" in targets["Acme Tutors Pte Ltd"]


def test_the_download_fails_for_another_request_and_after_expiry(
    app: FastAPI, client: TestClient, make_key: MakeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXALEARN_DB_URL", raising=False)
    address = email()
    key = make_key(scopes=["requests:write"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "access", address, language="en")
    _complete_and_download(app, client, key, NEXALEARN, filed["reference"], address)
    (reply,) = mails(app, NEXALEARN, address, "request_completed")
    match = LINK.search(reply.text)
    assert match is not None
    other = file_and_verify(app, client, NEXALEARN, "access", email(), language="en")
    stolen = match.group(1).replace(filed["reference"], other["reference"])
    assert client.get(stolen).status_code == 404
    later = datetime.now(UTC) + timedelta(days=30)
    monkeypatch.setattr(requests_api, "utcnow", lambda: later)
    assert client.get(match.group(1)).status_code == 404


def test_a_guardian_gets_the_childs_package_and_the_log_says_it_went_to_the_guardian(
    app: FastAPI, client: TestClient, make_key: MakeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXALEARN_DB_URL", raising=False)
    guardian, child = email(), email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        parent = identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": guardian})
        kid = identity.get_or_create_subject(session, controller_id=NEXALEARN, identifiers={"email": child})
        identity.link_guardian(
            session, controller_id=NEXALEARN, guardian_id=parent.id, child_id=kid.id, method="staff_check"
        )
    key = make_key(scopes=["requests:write", "disclosures:read"], controllers=[NEXALEARN])
    filed = file_and_verify(app, client, NEXALEARN, "access", guardian, language="en", on_behalf_of={"email": child})
    package = _complete_and_download(app, client, key, NEXALEARN, filed["reference"], guardian)
    (mine,) = json.loads(package.read("data.json"))["controllers"]
    assert [r["reference"] for r in mine["requests"]] == [filed["reference"]]
    log = client.get(
        "/api/v1/disclosures", params={"controller": NEXALEARN, "reference": filed["reference"]}, headers=staff(key)
    ).json()["disclosures"]
    assert [(d["recipient"], d["subject_hash"]) for d in log] == [("guardian", recipient_hash(child))]


def test_a_joint_access_request_at_nestit_answers_for_every_company_in_the_arrangement(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    address = email()
    with session_scope(make_session_factory(app.state.engine)) as session:
        for controller in (NESTIT, PROVENDO):
            identity.get_or_create_subject(session, controller_id=controller, identifiers={"email": address})
    key = make_key(scopes=["requests:write"], controllers=[NESTIT])
    filed = file_and_verify(app, client, NESTIT, "access", address, language="sv")
    shown = client.get(
        f"/api/v1/requests/{filed['reference']}", params={"controller": NESTIT}, headers=staff(key)
    ).json()
    package = _complete_and_download(app, client, key, NESTIT, filed["reference"], address)
    data = json.loads(package.read("data.json"))
    assert [c["id"] for c in data["controllers"]] == shown["parties"] == [NESTIT, PROVENDO]
    assert all(c["art15"]["purposes"] for c in data["controllers"])
    page = package.read("index.html").decode()
    assert '<html lang="sv">' in page and "Dina personuppgifter" in page
