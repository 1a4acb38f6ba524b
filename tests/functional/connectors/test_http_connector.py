"""The declarative HTTP connector against a local server that keeps Stripe's API contract: a person's
customers and charges found by e-mail over pages, erased (legal holds kept) and restricted, 429s and 5xx
retried, refusals named without the person's data."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dataright.config import derive_keys
from dataright.connectors.base import DatasetMismatch, DatastoreUnavailable
from dataright.declarations.loader import load
from dataright.engine.service import Engine, Request
from dataright.errors import DeclarationInvalid
from dataright.storage.engine import make_engine, make_session_factory
from dataright.storage.migrate import upgrade
from fixtures.db import TEST_SECRET
from fixtures.fake_stripe import API_KEY, FakeStripe

ROOT = Path(__file__).resolve().parents[3]
ADA, BOB = "ada@example.org", "bob@example.org"
RECENT = int((datetime.now(UTC) - timedelta(days=30)).timestamp())
OLD = int(datetime(datetime.now(UTC).year - 9, 3, 1, tzinfo=UTC).timestamp())

STRIPE_DATASET = """\
datasets:
  - id: stripe
    name: Stripe (payments)
    connector: http
    http:
      definition: {definition}
      base_url: ${{STRIPE_BASE_URL}}
      secrets: {{api_key: "${{STRIPE_API_KEY}}"}}
    tables:
      - name: customers
        erasure: delete_row
        restriction: {{flag: restricted}}
        fields:
          - {{name: id}}
          - {{name: email, identity: email, data_categories: [user.contact.email], erasure: {{strategy: pseudonymise}}}}
          - {{name: name, data_categories: [user.name], erasure: {{strategy: "null"}}}}
          - {{name: phone, data_categories: [user.contact.phone_number], erasure: {{strategy: "null"}}}}
          - {{name: restricted}}
      - name: charges
        hold_from: created
        fields:
          - name: customer
            references: [{{field: customers.id}}]
          - {{name: billing_name, data_categories: [user.name], erasure: {{strategy: redact, value: "[erased]"}}}}
          - {{name: receipt_email, data_categories: [user.contact.email], erasure: {{strategy: "null"}}}}
          - {{name: amount, data_categories: [nexalearn.payment_status], legal_hold: bookkeeping-no}}
          - {{name: created, data_categories: [nexalearn.payment_status], legal_hold: bookkeeping-no}}
"""

MakeEngine = Callable[..., Engine]


@pytest.fixture
def stripe_data(fake_stripe: FakeStripe) -> FakeStripe:
    fake_stripe.add_customer("cus_ada", ADA, "Ada Lovelace")
    fake_stripe.add_customer("cus_bob", BOB, "Bob Bobsen")
    for i in range(240):  # three pages of 100 for Ada: the cursor is followed
        fake_stripe.add_charge(f"ch_a{i:04d}", "cus_ada", 1000 + i, created=RECENT if i % 2 else OLD)
    for i in range(5):
        fake_stripe.add_charge(f"ch_b{i:04d}", "cus_bob", 500, created=OLD)
    return fake_stripe


@pytest.fixture
def make_stripe_engine(tmp_path: Path, fake_stripe: FakeStripe) -> Iterator[MakeEngine]:
    dbs = []

    def make(*, definition: str = "builtin:stripe", api_key: str = API_KEY, extra: str = "") -> Engine:
        folder = tmp_path / f"declaration{len(dbs)}"
        shutil.copytree(ROOT / "examples" / "nexalearn", folder)
        (folder / "datasets.yaml").unlink()
        (folder / "stripe-dataset.yaml").write_text(STRIPE_DATASET.format(definition=definition) + extra)
        declaration = load(folder).declaration
        db = make_engine(f"sqlite:///{tmp_path / f'dataright{len(dbs)}.sqlite3'}")
        upgrade(db)
        dbs.append(db)
        return Engine(
            declaration,
            session_factory=make_session_factory(db),
            keys=derive_keys(TEST_SECRET),
            environ={"STRIPE_BASE_URL": fake_stripe.url, "STRIPE_API_KEY": api_key},
            base_dir=str(folder),
            retries=0,
        )

    yield make
    for db in dbs:
        db.dispose()


def _access(engine: Engine, email: str) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = {}
    for section in engine.access(Request("access", "nexalearn", {"email": email})):
        rows.setdefault(section.table, []).extend(section.rows)
    return rows


def test_access_finds_all_and_only_the_persons_rows_over_every_page(
    stripe_data: FakeStripe, make_stripe_engine: MakeEngine
) -> None:
    rows = _access(make_stripe_engine(), ADA)

    assert [c["id"] for c in rows["customers"]] == ["cus_ada"]
    assert len(rows["charges"]) == 240
    assert {c["customer"] for c in rows["charges"]} == {"cus_ada"}
    assert stripe_data.calls["GET /v1/charges"] == 3  # 100 + 100 + 40, following starting_after


def test_erasure_deletes_the_customer_erases_charges_and_keeps_what_bookkeeping_holds(
    stripe_data: FakeStripe, make_stripe_engine: MakeEngine
) -> None:
    engine = make_stripe_engine()
    outcome = engine.erase(Request("erase", "nexalearn", {"email": ADA}))

    assert "cus_ada" not in stripe_data.customers and "cus_bob" in stripe_data.customers
    ada = [c for c in stripe_data.charges.values() if c["customer"] == "cus_ada"]
    assert all(c["billing_name"] == "[erased]" and c["receipt_email"] is None for c in ada)
    assert sorted(c["amount"] for c in ada) == list(range(1000, 1240))  # bookkeeping keeps the amounts
    assert all(c["billing_name"] == "Bob Bobsen" for c in stripe_data.charges.values() if c["customer"] == "cus_bob")
    charges = next(s for s in outcome.steps if s.table == "charges")
    assert charges.held_rows == 120 and charges.kept == {"amount": "bookkeeping-no", "created": "bookkeeping-no"}


def test_a_dry_run_counts_and_changes_nothing_and_a_second_erasure_finds_nothing_left(
    stripe_data: FakeStripe, make_stripe_engine: MakeEngine
) -> None:
    engine = make_stripe_engine()
    before = {k: dict(v) for k, v in stripe_data.charges.items()}
    dry = engine.erase(Request("erase", "nexalearn", {"email": ADA}, dry_run=True))
    assert stripe_data.charges == before and "cus_ada" in stripe_data.customers
    assert next(s for s in dry.steps if s.table == "customers").deleted == 1

    engine.erase(Request("erase", "nexalearn", {"email": ADA}))
    writes = stripe_data.calls["POST /v1/charges/ch_a0000"]
    again = engine.erase(Request("erase", "nexalearn", {"email": ADA}))
    assert all(s.rows == 0 for s in again.steps)  # the customer is gone: nothing reaches the charges
    assert stripe_data.calls["POST /v1/charges/ch_a0000"] == writes


def test_restriction_sets_and_lifts_the_flag(stripe_data: FakeStripe, make_stripe_engine: MakeEngine) -> None:
    engine = make_stripe_engine()
    engine.restrict(Request("restrict", "nexalearn", {"email": ADA}))
    assert stripe_data.customers["cus_ada"]["metadata"]["restricted"] == "true"
    engine.restrict(Request("restrict", "nexalearn", {"email": ADA}, lift=True))
    assert stripe_data.customers["cus_ada"]["metadata"]["restricted"] == "false"
    assert "restricted" not in stripe_data.customers["cus_bob"]["metadata"]


def test_a_change_the_api_refuses_is_named_by_table_and_path_without_the_data(
    stripe_data: FakeStripe, make_stripe_engine: MakeEngine
) -> None:
    amount = "{{name: amount, data_categories: [nexalearn.payment_status], legal_hold: bookkeeping-no"
    refused = STRIPE_DATASET.replace(amount + "}}", amount + ", erasure: {{strategy: redact, value: 0}}}}")
    assert refused != STRIPE_DATASET
    engine = make_stripe_engine()
    (Path(engine.base_dir or "") / "stripe-dataset.yaml").write_text(refused.format(definition="builtin:stripe"))
    engine.declaration = load(Path(engine.base_dir or "")).declaration
    with pytest.raises(DatasetMismatch) as caught:
        engine.erase(Request("erase", "nexalearn", {"email": ADA}))
    assert str(caught.value) == "stripe.charges: POST /v1/charges/{id} answered HTTP 400"


def test_rate_limits_and_server_errors_are_retried(stripe_data: FakeStripe, make_stripe_engine: MakeEngine) -> None:
    stripe_data.faults.extend([429, 429, 503, 502])
    rows = _access(make_stripe_engine(), ADA)
    assert len(rows["charges"]) == 240


def test_an_api_that_keeps_failing_leaves_the_request_waiting_on_it_naming_no_one(
    stripe_data: FakeStripe, make_stripe_engine: MakeEngine
) -> None:
    stripe_data.faults.extend([503] * 50)
    with pytest.raises(DatastoreUnavailable) as caught:
        _access(make_stripe_engine(), ADA)
    message = str(caught.value)
    assert message.startswith("waiting on datastore stripe.customers: GET /v1/customers answered HTTP 503")
    assert ADA not in message and "ada" not in message


def test_a_refused_key_is_named_as_such(stripe_data: FakeStripe, make_stripe_engine: MakeEngine) -> None:
    with pytest.raises(DatastoreUnavailable, match="credentials refused"):
        _access(make_stripe_engine(api_key="sk_test_wrong"), ADA)


def test_a_definition_that_cannot_find_a_table_by_its_reference_is_refused_before_anything_runs(
    stripe_data: FakeStripe, make_stripe_engine: MakeEngine, tmp_path: Path
) -> None:
    text = (ROOT / "src/dataright/connectors/http/definitions/stripe.yaml").read_text()
    broken = text.replace("      - by: customer\n", "      - by: customer_id\n")
    assert broken != text
    engine = make_stripe_engine(definition="custom.yaml")
    (Path(engine.base_dir or "") / "custom.yaml").write_text(broken)
    with pytest.raises(DatasetMismatch, match=r"stripe\.charges: the HTTP definition cannot find rows by customer"):
        _access(engine, ADA)
    assert stripe_data.calls["GET /v1/customers"] == 0


def test_a_broken_definition_is_named_by_file_and_line(make_stripe_engine: MakeEngine) -> None:
    engine = make_stripe_engine(definition="custom.yaml")
    (Path(engine.base_dir or "") / "custom.yaml").write_text(
        "name: x\nendpoints:\n  customers:\n    read:\n      - by: email\n        pathh: /v1/customers\n"
    )
    with pytest.raises(DeclarationInvalid) as caught:
        _access(engine, ADA)
    assert "custom.yaml:6 endpoints.customers.read[0].pathh: unknown field" in str(caught.value)
