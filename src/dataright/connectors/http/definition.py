"""The declarative HTTP connector's definition of a SaaS API: a YAML file, no code.

A definition says how to authenticate, how fast to go, what to retry, how lists are paged, and for each
table of the dataset how a person's rows are read (``read``: one entry per field they can be found by), how a
row is changed (``update``) and removed (``delete``). Values are written into paths, query parameters and
bodies with ``{placeholders}``: ``{value}`` is the value searched for, ``{<field>}`` a field of the row,
``{<secret>}`` one of the dataset's ``http.secrets`` (read from the environment).

Shipped definitions are named ``builtin:<name>`` (``builtin:stripe``); any other value is a file next to the
declaration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dataright.declarations.loader import located_errors, parse_yaml
from dataright.errors import ConfigurationError, DeclarationInvalid

BUILTIN = Path(__file__).resolve().parent / "definitions"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Auth(_Model):
    type: Literal["bearer", "basic", "header", "none"] = "bearer"
    token: str | None = None
    """``bearer`` and ``header``: the value (``"{api_key}"``)."""
    header: str = "Authorization"
    """``header``: the header's name (``X-Api-Key``)."""
    username: str | None = None
    password: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        if self.type in ("bearer", "header") and not self.token:
            raise ValueError(f"{self.type} authentication needs token (a secret, such as '{{api_key}}')")
        if self.type == "basic" and self.username is None:
            raise ValueError("basic authentication needs username (and password)")
        return self


class Retry(_Model):
    attempts: int = Field(default=5, ge=1, le=20)
    """Tries in all, the first included."""
    backoff: float = Field(default=0.5, ge=0, le=60)
    """Seconds before the second try; doubled each time (a ``Retry-After`` header wins)."""
    max_backoff: float = Field(default=30, ge=0, le=600)
    statuses: tuple[int, ...] = (429, 500, 502, 503, 504)


class Pagination(_Model):
    type: Literal["none", "cursor", "page"] = "none"
    limit_param: str | None = "limit"
    limit: int = Field(default=100, ge=1, le=10_000)
    cursor_param: str = "starting_after"
    """``cursor``: the parameter carrying the last item's ``cursor_field``."""
    cursor_field: str = "id"
    has_more: str = "has_more"
    """``cursor``: the response field that says whether another page follows."""
    page_param: str = "page"
    """``page``: the page number parameter (from 1; an empty page ends the list)."""


class Read(_Model):
    by: str
    """The field of the table whose value finds the rows (an identity or a reference)."""
    method: Literal["GET", "POST"] = "GET"
    path: str
    params: dict[str, str] = Field(default_factory=dict)
    data: str | None = None
    """Where the list sits in the response (``data``; dots for deeper); empty: the body itself."""
    single: bool = False
    """The answer is one object, not a list (a read by key)."""
    pagination: Pagination | None = None
    """Overrides the definition's pagination for this read."""


class Write(_Model):
    method: Literal["POST", "PUT", "PATCH", "DELETE"]
    path: str
    body: Literal["json", "form", "none"] = "json"
    names: dict[str, str] = Field(default_factory=dict)
    """Field -> the key it is sent under when it differs (``restricted: metadata[restricted]``)."""
    null_as: str | None = None
    """What a NULL is sent as when the API takes no JSON null (form bodies: ``""``)."""


class Endpoint(_Model):
    key: str = "id"
    """The field that identifies a row in ``update`` and ``delete`` paths."""
    fields: dict[str, str] = Field(default_factory=dict)
    """Field -> where it sits in an answered object when not at the top (``restricted: metadata.restricted``)."""
    read: tuple[Read, ...] = Field(min_length=1)
    update: Write | None = None
    delete: Write | None = None

    def read_by(self, field: str) -> Read | None:
        return next((r for r in self.read if r.by == field), None)


class Definition(_Model):
    name: str
    description: str | None = None
    auth: Auth = Auth(type="none")
    rate_limit: float | None = Field(default=None, gt=0, le=10_000)
    """Requests per second at most (the API's published limit, with room to spare)."""
    timeout: float = Field(default=20, gt=0, le=600)
    retry: Retry = Retry()
    pagination: Pagination = Pagination()
    endpoints: dict[str, Endpoint] = Field(min_length=1)
    """Table name -> its endpoint."""


def definition_path(name: str, base_dir: str | None) -> Path:
    if name.startswith("builtin:"):
        found = BUILTIN / f"{name.removeprefix('builtin:')}.yaml"
        if not found.is_file():
            shipped = ", ".join(sorted(f"builtin:{p.stem}" for p in BUILTIN.glob("*.yaml")))
            raise ConfigurationError(f"no shipped HTTP definition {name!r} (shipped: {shipped})")
        return found
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        root = Path(base_dir)
        path = (root if root.is_dir() else root.parent) / path
    return path


def load_definition(name: str, base_dir: str | None) -> Definition:
    """Read and validate a definition; every problem named ``file:line path: message``."""
    path = definition_path(name, base_dir)
    data, lines = parse_yaml(path)
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        raise DeclarationInvalid(located_errors(path, lines, exc)) from None
