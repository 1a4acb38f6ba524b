"""The error tree of dataright.

Every error a user can cause is a ``DataRightError``; the web layer maps each class once to an
RFC 9457 problem+json response and the CLI to a non-zero exit.

    DataRightError
    ├── DeclarationError            a declaration could not be loaded
    │   ├── DeclarationSyntaxError  YAML that does not parse
    │   └── DeclarationInvalid      YAML that parses but breaks the schema (carries every issue)
    ├── JurisdictionError           an unknown or broken jurisdiction pack
    ├── NotFound                    a referenced object does not exist
    ├── PermissionDenied            authenticated, but not allowed
    ├── Unauthenticated             no or a bad credential
    ├── Conflict                    the request contradicts the stored state
    ├── ValidationFailed            a request body or CSV row breaks a rule
    ├── Unavailable                 overloaded for now: try again after ``retry_after`` seconds
    └── ConfigurationError          settings that cannot work (no secret key, a missing config file)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class DataRightError(Exception):
    """Base of every error dataright raises on purpose."""

    status: int = 400
    title: str = "Bad request"


@dataclass(frozen=True)
class Located:
    """One problem at a place: ``file:line path: message``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class DeclarationError(DataRightError):
    title = "Invalid declaration"
    status = 422

    def __init__(self, problems: list[Located]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DeclarationSyntaxError(DeclarationError):
    title = "Declaration is not valid YAML"


class DeclarationInvalid(DeclarationError):
    title = "Declaration breaks the schema"


class JurisdictionError(DataRightError):
    title = "Unknown or broken jurisdiction pack"
    status = 422


class NotFound(DataRightError):
    title = "Not found"
    status = 404


class Unauthenticated(DataRightError):
    title = "Authentication required"
    status = 401


class PermissionDenied(DataRightError):
    title = "Forbidden"
    status = 403


class Conflict(DataRightError):
    title = "Conflict"
    status = 409


class ValidationFailed(DataRightError):
    title = "Validation failed"
    status = 422


class Unavailable(DataRightError):
    """The server cannot take the request now (no free connection, the write queue is full); nothing was
    written. Answered 503 with ``Retry-After``."""

    title = "Service unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(DataRightError):
    title = "Server misconfigured"
    status = 500


def problem_type(error: type[DataRightError]) -> str:
    """``urn:dataright:problem:<kind>``: ``NotFound`` -> ``urn:dataright:problem:not-found``."""
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", error.__name__).lower()
    return f"urn:dataright:problem:{kebab}"


# The shape every error takes when it leaves the API (RFC 9457), for the OpenAPI document and for answers
# that carry a problem inside a success (a batch item that could not be answered).
class ProblemItem(BaseModel):
    """One problem of a request: where (a JSON pointer into the body, a parameter, or a line and column of a
    malformed body) and what."""

    model_config = ConfigDict(populate_by_name=True)

    detail: str
    pointer: str | None = Field(None, description="JSON pointer into the request body, e.g. `#/items/0/purpose`.")
    parameter: str | None = Field(None, description="The name of the parameter at fault.")
    in_: str | None = Field(None, alias="in", description="Where the parameter is: `path`, `query` or `header`.")
    line: int | None = Field(None, description="Line (from 1) of the request body where it stops being JSON.")
    column: int | None = Field(None, description="Column (from 1) on that line.")


class Problem(BaseModel):
    """An error, as RFC 9457 ``application/problem+json``."""

    type: str = Field(description="`urn:dataright:problem:<kind>` for dataright's own errors, else `about:blank`.")
    title: str
    status: int
    detail: str | None = None
    instance: str = Field(description="The path of the request.")
    errors: list[ProblemItem] | None = Field(None, description="Each problem of an invalid request.")

    @classmethod
    def of(cls, error: DataRightError, instance: str) -> Problem:
        return cls(
            type=problem_type(type(error)),
            title=error.title,
            status=error.status,
            detail=str(error) if error.status < 500 else None,
            instance=instance,
        )
