"""Dataset declarations: where a controller keeps personal data, and how to find, erase and restrict it.

A dataset is one datastore (a SQL database reached through a SQLAlchemy URL, or a SaaS API through a
declarative HTTP definition). Its tables list the fields that hold personal data with their categories,
the identity fields a person is found by, the references that lead from one table to the next, what erasure
does to each field, which fields a legal hold keeps, and how processing is restricted.

References follow Fides' convention: ``direction: from`` on ``orders.customer_id`` referencing
``customers.id`` means the values flow from ``customers.id`` into ``orders.customer_id``: orders are
reached from customers. ``direction: to`` walks the other way (from this field to the one it names).

Secrets never sit in the YAML: ``url: ${NEXALEARN_DB_URL}`` names an environment variable, read only when a
request runs (validation does not need it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dataright.errors import ConfigurationError

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$", max_length=128)]
DatasetKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Strategy(StrEnum):
    """What erasure does to one field."""

    null = "null"  # set the field to NULL
    redact = "redact"  # write a fixed value (``value``)
    pseudonymise = "pseudonymise"  # keyed hash of the value: the same value gives the same pseudonym
    random = "random"  # a random value of the column's kind
    delete_row = "delete_row"  # the row goes (set on the table, not a field)


class Erasure(_Model):
    strategy: Strategy
    value: str | int | None = None
    """For ``redact``: the fixed value written (``"[erased]"``, ``0``)."""

    @model_validator(mode="after")
    def _value_only_for_redact(self) -> Erasure:
        if self.strategy is Strategy.redact and self.value is None:
            raise ValueError("a redaction needs the fixed value to write (value: ...)")
        if self.strategy is not Strategy.redact and self.value is not None:
            raise ValueError(f"value is only used by the redact strategy, not {self.strategy.value}")
        if self.strategy is Strategy.delete_row:
            raise ValueError("delete_row is set on the table (erasure: delete_row), not on a field")
        return self


class Reference(_Model):
    """This field's values match another field's (a foreign key or a logical reference)."""

    field: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$")
    """``table.field`` in this dataset, or in ``dataset`` when given."""
    dataset: DatasetKey | None = None
    direction: Literal["from", "to"] = "from"

    @property
    def table(self) -> str:
        return self.field.split(".", 1)[0]

    @property
    def column(self) -> str:
        return self.field.split(".", 1)[1]


class DataField(_Model):
    name: Name
    data_categories: tuple[str, ...] = ()
    identity: DatasetKey | None = None
    """The kind of identity this field holds (``email``, ``phone_number``, ``customer_id``)."""
    references: tuple[Reference, ...] = ()
    erasure: Erasure | None = None
    legal_hold: DatasetKey | None = None
    """A legal hold (``legal_holds[].id``) that keeps this field when the row is erased."""
    rectifiable: bool = True
    """The person may correct this field (``dsr rectify``)."""


class FlagRestriction(_Model):
    """Restriction by a boolean column on the table itself."""

    flag: Name


class SideTableRestriction(_Model):
    """Restriction by a row in a side table holding the restricted rows' keys."""

    side_table: Name
    key: Name
    """The side table's column that holds this table's primary key."""


class Deactivation(_Model):
    """What the sweep writes when a rule's trigger has happened but its period has not run out yet
    (``visible_to: owner``: the platform shows the row only to its highest staff role)."""

    column: Name
    value: str | int | bool


class TableRetention(_Model):
    """A retention rule applied to this table: which column holds the date its trigger happened on.

    The rule's rows are this table's rows whose ``column`` is due; rows of other tables of the dataset that
    the references lead to from them (their enrollments, payments, ...) go with them, each as its own
    erasure says, legal holds keeping their fields.
    """

    rule: DatasetKey
    """A retention rule (``retention_rules[].id``)."""
    column: Name
    """A declared date (or datetime) field of this table: when the trigger happened; NULL: not yet."""
    keep: tuple[Name, ...] = ()
    """For ``anonymise`` and ``pseudonymise``: declared fields left as they are (aggregates: a path, a date)."""
    deactivate: Deactivation | None = None
    """Written from the trigger on, until the period runs out and the row goes."""


class Table(_Model):
    name: Name
    description: str | None = None
    primary_key: tuple[Name, ...] = ()
    """The primary key; taken from the live schema when not given."""
    erasure: Literal["fields", "delete_row"] = "fields"
    """``delete_row`` removes the subject's rows; ``fields`` applies each field's strategy."""
    hold_from: Name | None = None
    """A date column the legal holds of this table run from (their trigger); without it the hold always applies."""
    restriction: FlagRestriction | SideTableRestriction | None = None
    fields: tuple[DataField, ...] = Field(min_length=1)
    retention: tuple[TableRetention, ...] = ()
    """The retention rules the sweep enforces on this table (``dataright retention plan``)."""

    @cached_property
    def field_by_name(self) -> dict[str, DataField]:
        return {f.name: f for f in self.fields}

    @property
    def identities(self) -> tuple[DataField, ...]:
        return tuple(f for f in self.fields if f.identity is not None)


class HttpDefinition(_Model):
    """A SaaS API reached through the declarative HTTP connector (``connectors/http``)."""

    definition: str
    """A file next to the declaration describing the API (endpoints, pagination, erasure), or a shipped one
    (``builtin:stripe``); see ``connectors/http/definition.py``."""
    base_url: str
    secrets: dict[str, str] = Field(default_factory=dict)
    """Values the definition uses (``api_key: ${STRIPE_API_KEY}``)."""


class Dataset(_Model):
    id: DatasetKey
    name: str | None = None
    description: str | None = None
    controllers: tuple[DatasetKey, ...] = ()
    """The controllers whose requests this dataset answers; empty means all of the declaration's."""
    system: DatasetKey | None = None
    """The system (``systems[].id``) that holds this dataset, when it is a processor's."""
    connector: DatasetKey = "sql"
    url: str | None = None
    """A SQLAlchemy URL; secrets as ``${ENV_VAR}`` (read when a request runs, never stored)."""
    http: HttpDefinition | None = None
    tables: tuple[Table, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _where(self) -> Dataset:
        if self.connector == "sql" and not self.url:
            raise ValueError("a SQL dataset needs url (a SQLAlchemy URL, secrets as ${ENV_VAR})")
        if self.connector == "http" and self.http is None:
            raise ValueError("an HTTP dataset needs http (definition and base_url)")
        return self

    @cached_property
    def table_by_name(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    def serves(self, controller_id: str) -> bool:
        return not self.controllers or controller_id in self.controllers

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(path inside this dataset, message) for references and columns that name nothing."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for ti, table in enumerate(self.tables):
            if table.name in seen:
                out.append((("tables", ti, "name"), f"table {table.name!r} is declared twice"))
            seen.add(table.name)
            names: set[str] = set()
            for fi, f in enumerate(table.fields):
                if f.name in names:
                    out.append((("tables", ti, "fields", fi, "name"), f"field {f.name!r} is declared twice"))
                names.add(f.name)
                for ri, ref in enumerate(f.references):
                    if ref.dataset not in (None, self.id):
                        continue
                    target = self.table_by_name.get(ref.table)
                    if target is None:
                        out.append(
                            (("tables", ti, "fields", fi, "references", ri, "field"), f"unknown table {ref.table!r}")
                        )
                    elif ref.column not in target.field_by_name and ref.column not in target.primary_key:
                        out.append(
                            (
                                ("tables", ti, "fields", fi, "references", ri, "field"),
                                f"table {ref.table!r} declares no field {ref.column!r}",
                            )
                        )
            if table.hold_from is not None and not any(f.legal_hold for f in table.fields):
                out.append((("tables", ti, "hold_from"), "hold_from is set but no field of this table is held"))
            held = any(f.legal_hold for f in table.fields)
            if table.erasure == "delete_row" and held:
                for fi, f in enumerate(table.fields):
                    if f.data_categories and not f.legal_hold and f.erasure is None and not f.references:
                        out.append(
                            (
                                ("tables", ti, "fields", fi, "erasure"),
                                "rows a legal hold keeps are not deleted: say what erasure does to this field "
                                "in them (erasure: {strategy: ...})",
                            )
                        )
            elif (
                table.erasure == "fields"
                and any(f.data_categories for f in table.fields)
                and not any(f.erasure is not None for f in table.fields)
            ):
                out.append(
                    (
                        ("tables", ti, "erasure"),
                        "no field says what erasure does to it; give fields an erasure strategy or set "
                        "erasure: delete_row",
                    )
                )
        return out


def env_names(text: str) -> list[str]:
    """The environment variables a ``${VAR}`` template names."""
    return ENV_REFERENCE.findall(text)


def expand(template: str, environ: Mapping[str, str], *, where: str) -> str:
    """``template`` with every ``${VAR}`` replaced from ``environ``; a clear error names a missing one."""
    missing = [name for name in ENV_REFERENCE.findall(template) if name not in environ]
    if missing:
        raise ConfigurationError(
            f"{where}: environment variable {', '.join(missing)} is not set (the URL names it as ${{{missing[0]}}})"
        )
    return ENV_REFERENCE.sub(lambda m: environ[m.group(1)], template)
