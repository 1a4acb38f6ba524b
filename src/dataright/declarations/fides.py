"""Fides datasets read as dataright dataset declarations, so a team moving from Fides brings them unchanged.

A Fides dataset file (``dataset:`` at the top, fideslang's ``Dataset`` model: collections, fields,
``data_categories``, ``fides_meta.identity`` / ``references`` / ``primary_key``) is first validated with
fideslang's own model, then translated:

- a collection becomes a table, a field a field; ``fides_meta.primary_key`` fields form the primary key;
- ``fides_meta.identity`` becomes the field's ``identity``; ``fides_meta.references`` its ``references``
  (same ``from`` / ``to`` convention);
- Fides decides masking in its policies, not its datasets; the translation says what erasure does the way a
  default Fides erasure policy would: a field holding a ``user.*`` category is set to NULL, unless it is a
  primary key, a reference or ``read_only``; ``masking_strategy_override`` on a collection (``delete``) or a
  field (``null_rewrite``, ``string_rewrite``, ``hash``, ``random_string_rewrite``) is honoured;
- Fides keeps connection details out of the dataset: the datastore URL is read from the environment variable
  ``<FIDES_KEY>_URL`` (``postgres_example`` -> ``${POSTGRES_EXAMPLE_URL}``);
- a dataset with no identity field at all is given one where a field holds ``user.contact.email`` (or a
  phone number): fideslang's own demo datasets declare none; the guess is listed in ``notes``;
- category keys renamed in fideslang 2.0 (``user.contact.state`` -> ``user.contact.address.state``) are
  translated, also noted.

Every problem is reported at the line of the Fides file it comes from. Nested fields (document stores) have
no SQL equivalent and are refused with their place named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fideslang.models import Dataset as FidesDataset
from pydantic import ValidationError

PathT = tuple[str | int, ...]

RENAMED_CATEGORIES = {
    # fideslang 1.x keys that moved in 2.0 (its demo datasets still use some of them)
    "user.contact.city": "user.contact.address.city",
    "user.contact.country": "user.contact.address.country",
    "user.contact.postal_code": "user.contact.address.postal_code",
    "user.contact.state": "user.contact.address.state",
    "user.contact.street": "user.contact.address.street",
}
INFERRED_IDENTITIES = (("user.contact.email", "email"), ("user.contact.phone_number", "phone_number"))
MASKING_STRATEGIES = {
    "null_rewrite": "null",
    "string_rewrite": "redact",
    "hash": "pseudonymise",
    "random_string_rewrite": "random",
}
_KEY_CLEAN = re.compile(r"[^a-z0-9_.-]+")


@dataclass
class Translation:
    """dataright dataset mappings, the source line of each of their paths, notes on guesses, and problems."""

    datasets: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[PathT, int] = field(default_factory=dict)
    notes: dict[PathT, str] = field(default_factory=dict)
    problems: list[tuple[PathT, str]] = field(default_factory=list)
    """(path inside the Fides file, message)."""


def is_fides_document(data: object) -> bool:
    """A Fides resource file: ``dataset:`` (a list) at the top, and none of dataright's own sections."""
    return isinstance(data, dict) and "dataset" in data and "datasets" not in data


def dataset_key(fides_key: str) -> str:
    """A dataright dataset id for a Fides key (lower case; other characters become ``-``)."""
    key = _KEY_CLEAN.sub("-", fides_key.lower()).strip("-._")
    return key or "fides-dataset"


def url_variable(fides_key: str) -> str:
    """The environment variable that holds the datastore URL of a Fides dataset."""
    return re.sub(r"[^A-Z0-9]+", "_", fides_key.upper()).strip("_") + "_URL"


def translate(data: dict[str, Any], lines: dict[PathT, int]) -> Translation:
    """Translate a parsed Fides dataset document; ``lines`` maps its paths to lines (from the loader)."""
    out = Translation()
    items = data.get("dataset")
    if not isinstance(items, list):
        out.problems.append((("dataset",), "a Fides dataset file holds a list under dataset:"))
        return out
    extra = sorted(str(k) for k in data if k != "dataset")
    for key in extra:
        out.problems.append(((key,), "unknown section in a Fides dataset file (only dataset: is read)"))
    for i, raw in enumerate(items):
        src: PathT = ("dataset", i)
        try:
            FidesDataset.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "[")))
                out.problems.append(((*src, *loc), f"Fides: {err['msg']}"))
            continue
        _dataset(raw, src, ("datasets", len(out.datasets)), lines, out)
    return out


def _copy_line(out: Translation, lines: dict[PathT, int], ours: PathT, theirs: PathT) -> None:
    probe = theirs
    while probe and probe not in lines:
        probe = probe[:-1]
    if probe:
        out.lines[ours] = lines[probe]


def _dataset(raw: dict[str, Any], src: PathT, dst: PathT, lines: dict[PathT, int], out: Translation) -> None:
    fides_key = str(raw["fides_key"])
    dataset: dict[str, Any] = {"id": dataset_key(fides_key)}
    _copy_line(out, lines, dst, src)
    _copy_line(out, lines, (*dst, "id"), (*src, "fides_key"))
    for key in ("name", "description"):
        if raw.get(key):
            dataset[key] = str(raw[key])
    dataset["connector"] = "sql"
    dataset["url"] = "${" + url_variable(fides_key) + "}"
    out.notes[(*dst, "url")] = f"Fides keeps connections outside the dataset: set {url_variable(fides_key)}"
    tables: list[dict[str, Any]] = []
    dataset["tables"] = tables
    for ci, collection in enumerate(raw.get("collections") or []):
        meta = collection.get("fides_meta") or {}
        if meta.get("skip_processing"):
            continue
        table = _table(collection, (*src, "collections", ci), (*dst, "tables", len(tables)), lines, out)
        if table is not None:
            tables.append(table)
    if not any(f.get("identity") for t in tables for f in t["fields"]):
        _infer_identity(tables, dst, out)
    out.datasets.append(dataset)


def _table(
    collection: dict[str, Any], src: PathT, dst: PathT, lines: dict[PathT, int], out: Translation
) -> dict[str, Any] | None:
    _copy_line(out, lines, dst, src)
    table: dict[str, Any] = {"name": str(collection["name"])}
    if collection.get("description"):
        table["description"] = str(collection["description"])
    meta = collection.get("fides_meta") or {}
    override = (meta.get("masking_strategy_override") or {}).get("strategy")
    if override == "delete":
        table["erasure"] = "delete_row"
        _copy_line(out, lines, (*dst, "erasure"), (*src, "fides_meta", "masking_strategy_override"))
    fields: list[dict[str, Any]] = []
    primary: list[str] = []
    for fi, raw in enumerate(collection.get("fields") or []):
        fsrc: PathT = (*src, "fields", fi)
        if raw.get("fields"):
            out.problems.append(
                ((*fsrc, "fields"), "nested fields (a document store) cannot be read by a SQL datastore")
            )
            continue
        converted = _field(raw, fsrc, (*dst, "fields", len(fields)), lines, out, delete_row=override == "delete")
        if (raw.get("fides_meta") or {}).get("primary_key"):
            primary.append(converted["name"])
        fields.append(converted)
    if primary:
        table["primary_key"] = primary
    table["fields"] = fields
    return table


def _field(
    raw: dict[str, Any], src: PathT, dst: PathT, lines: dict[PathT, int], out: Translation, *, delete_row: bool
) -> dict[str, Any]:
    _copy_line(out, lines, dst, src)
    meta = raw.get("fides_meta") or raw.get("fidesops_meta") or {}
    meta_key = "fides_meta" if raw.get("fides_meta") else "fidesops_meta"
    converted: dict[str, Any] = {"name": str(raw["name"])}
    categories: list[str] = []
    for ki, key in enumerate(raw.get("data_categories") or []):
        new = RENAMED_CATEGORIES.get(str(key), str(key))
        if new != key:
            out.notes[(*dst, "data_categories", ki)] = f"fideslang 1.x key {key}, renamed {new} in fideslang 2.0"
        categories.append(new)
        _copy_line(out, lines, (*dst, "data_categories", ki), (*src, "data_categories", ki))
    if categories:
        converted["data_categories"] = categories
    if meta.get("identity"):
        converted["identity"] = dataset_key(str(meta["identity"]))
        _copy_line(out, lines, (*dst, "identity"), (*src, meta_key, "identity"))
    references: list[dict[str, Any]] = []
    for ri, ref in enumerate(meta.get("references") or []):
        reference: dict[str, Any] = {"field": str(ref["field"]), "dataset": dataset_key(str(ref["dataset"]))}
        if ref.get("direction"):
            reference["direction"] = str(ref["direction"])
        _copy_line(out, lines, (*dst, "references", ri), (*src, meta_key, "references", ri))
        if str(ref["field"]).count(".") != 1:
            out.problems.append(
                ((*src, meta_key, "references", ri, "field"), "a SQL reference names table.field (one dot)")
            )
            continue
        references.append(reference)
    if references:
        converted["references"] = references
    erasure = _erasure(meta, categories, references, delete_row=delete_row)
    if erasure is not None:
        converted["erasure"] = erasure
    return converted


def _erasure(
    meta: dict[str, Any], categories: list[str], references: list[dict[str, Any]], *, delete_row: bool
) -> dict[str, Any] | None:
    override = meta.get("masking_strategy_override") or {}
    if override.get("strategy") in MASKING_STRATEGIES:
        strategy = MASKING_STRATEGIES[override["strategy"]]
        if strategy == "redact":
            value = (override.get("configuration") or {}).get("rewrite_value") or "[erased]"
            return {"strategy": "redact", "value": str(value)}
        return {"strategy": strategy}
    if delete_row or meta.get("primary_key") or meta.get("read_only") or references:
        return None
    if any(c == "user" or c.startswith("user.") for c in categories):
        return {"strategy": "null"}
    return None


def _infer_identity(tables: list[dict[str, Any]], dst: PathT, out: Translation) -> None:
    for category, kind in INFERRED_IDENTITIES:
        for ti, table in enumerate(tables):
            for fi, f in enumerate(table["fields"]):
                if category in f.get("data_categories", ()):
                    f["identity"] = kind
                    out.notes[(*dst, "tables", ti, "fields", fi, "identity")] = (
                        f"the Fides dataset declares no identity; {table['name']}.{f['name']} holds {category}"
                    )
                    return
