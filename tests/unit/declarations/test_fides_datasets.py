"""Fides dataset files load as dataright dataset declarations, and their problems are named at their lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from dataright.declarations import drafts
from dataright.declarations.datasets import Dataset, Strategy
from dataright.declarations.fides import dataset_key, translate, url_variable
from dataright.declarations.loader import load, read_fides
from dataright.errors import DeclarationError

DATA = Path(__file__).resolve().parents[2] / "data" / "fides"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

SHOP = """\
dataset:
  - fides_key: shop_db
    name: Shop
    collections:
      - name: customer
        fields:
          - name: id
            data_categories: [user.unique_id]
            fides_meta:
              primary_key: true
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              identity: email
              data_type: string
          - name: name
            data_categories: [user.name]
            fides_meta:
              masking_strategy_override:
                strategy: string_rewrite
                configuration: {rewrite_value: MASKED}
      - name: orders
        fides_meta:
          masking_strategy_override: {strategy: delete}
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta:
              references:
                - dataset: shop_db
                  field: customer.id
                  direction: from
          - name: shipping_address
            data_categories: [user.contact.address.street]
"""


def _translated(text: str) -> list[Dataset]:
    out = translate(yaml.safe_load(text), {})
    assert out.problems == []
    return [Dataset.model_validate(d) for d in out.datasets]


def test_fideslangs_own_demo_dataset_translates_with_its_email_taken_for_the_identity() -> None:
    translation = read_fides(DATA / "demo_dataset.yml")
    (dataset,) = (Dataset.model_validate(d) for d in translation.datasets)
    users = dataset.table_by_name["users"]
    assert dataset.id == "demo_users_dataset"
    assert dataset.url == "${DEMO_USERS_DATASET_URL}"
    assert [f.name for f in users.identities] == ["email"]
    assert users.field_by_name["state"].data_categories == ("user.contact.address.state",)
    assert users.field_by_name["created_at"].erasure is None  # system.operations is not the person's data
    assert users.field_by_name["first_name"].erasure is not None
    notes = " ".join(translation.notes.values())
    assert "declares no identity" in notes and "renamed user.contact.address.state" in notes


def test_identity_references_primary_keys_and_masking_overrides_carry_over() -> None:
    (dataset,) = _translated(SHOP)
    customer, orders = dataset.table_by_name["customer"], dataset.table_by_name["orders"]
    assert customer.primary_key == ("id",)
    assert customer.field_by_name["email"].identity == "email"
    assert customer.field_by_name["email"].erasure is not None
    assert customer.field_by_name["email"].erasure.strategy is Strategy.null
    name = customer.field_by_name["name"].erasure
    assert name is not None and name.strategy is Strategy.redact and name.value == "MASKED"
    assert customer.field_by_name["id"].erasure is None  # a key is never rewritten
    assert orders.erasure == "delete_row"
    (ref,) = orders.field_by_name["customer_id"].references
    assert (ref.field, ref.dataset, ref.direction) == ("customer.id", "shop_db", "from")
    assert dataset.problems() == []


def test_keys_and_url_variables_are_made_safe_from_fides_keys() -> None:
    assert dataset_key("Postgres_Example.DB") == "postgres_example.db"
    assert url_variable("postgres_example-db") == "POSTGRES_EXAMPLE_DB_URL"


def _folder_with(tmp_path: Path, fides_text: str) -> Path:
    folder = tmp_path / "decl"
    shutil.copytree(EXAMPLES / "nexalearn", folder)
    (folder / "datasets.yaml").unlink()
    (folder / "datasets").mkdir()
    (folder / "datasets" / "shop.yml").write_text(fides_text, encoding="utf-8")
    return folder


def test_a_fides_file_in_a_declaration_folder_loads_as_a_dataset(tmp_path: Path) -> None:
    loaded = load(_folder_with(tmp_path, SHOP))
    assert [d.id for d in loaded.declaration.datasets] == ["shop_db"]
    file, line = loaded.where(("datasets", 0, "tables", 1, "fields", 1, "references", 0))
    assert file.endswith("shop.yml") and line == 32


@pytest.mark.parametrize(
    ("change", "place", "message"),
    [
        (
            (
                "          - name: shipping_address\n",
                "          - name: shipping_address\n            fields:\n              - name: street\n",
            ),
            "shop.yml:36 dataset[0].collections[1].fields[2].fields",
            "nested fields",
        ),
        (("fides_key: shop_db", "fides_key: 'shop db!'"), "shop.yml:2 dataset[0].fides_key", "Fides:"),
        (
            ("[user.name]", "[user.nmae]"),
            "shop.yml:17 datasets[0].tables[0].fields[2].data_categories[0]",
            "unknown data category",
        ),
    ],
    ids=["nested-field", "bad-fides-key", "unknown-category"],
)
def test_a_broken_fides_file_is_refused_at_its_own_line(
    tmp_path: Path, change: tuple[str, str], place: str, message: str
) -> None:
    folder = _folder_with(tmp_path, SHOP.replace(*change))
    with pytest.raises(DeclarationError) as caught:
        load(folder)
    text = str(caught.value)
    assert place in text and message in text


def test_an_import_written_as_yaml_loads_back_to_the_same_datasets(tmp_path: Path) -> None:
    path = tmp_path / "shop.yml"
    path.write_text(SHOP, encoding="utf-8")
    translation = read_fides(path)
    written = drafts.render({"datasets": translation.datasets}, translation.notes, header="a\nb")
    reread = yaml.safe_load(written)
    assert reread == {"datasets": translation.datasets}
    assert written.startswith("# a\n# b\n")
