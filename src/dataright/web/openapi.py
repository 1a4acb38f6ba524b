"""The OpenAPI document: every status an operation can answer, each error as the problem+json actually sent.

FastAPI documents a route's success and a generic 422. This module rewrites each operation's error responses
from one table, so the document states what the server does:

* ``STATUSES_BY_KIND`` says which statuses every operation of a kind can answer (any operation with input,
  any operation behind an API key, any operation acting for a controller, any write). A status the server
  learns later (an overload answer, an idempotency conflict) is added there in one line and every such
  operation declares it.
* a route adds statuses of its own with ``responses=problems(404, 429)``.
* every error status is described by the ``Problem`` schema (RFC 9457) with ``application/problem+json``,
  the media type ``web.problems`` sends; a 503 also declares its ``Retry-After`` header.
* every write under ``/api/v1`` declares the optional ``Idempotency-Key`` header (``web.idempotency``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from dataright.errors import Problem, ProblemItem
from dataright.idempotency.service import MAX_KEY_LENGTH
from dataright.web.problems import PROBLEM_JSON
from dataright.web.routes import iter_routes

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


WHAT_IT_MEANS: dict[int, str] = {
    400: "The body is not JSON (the problem names the line and column).",
    401: "No API key, or one that is unknown, revoked or expired.",
    403: "The API key may not do this, or not for this controller.",
    404: "The controller, subject, event or other thing named does not exist (or not for this controller).",
    405: "The method is not allowed on this path; `Allow` lists those that are.",
    409: "The request contradicts the stored state.",
    422: "The request breaks a rule; `errors` points at each field.",
    429: "Too many requests from this address; try again later.",
    503: "The server is overloaded or its database unavailable; retry after `Retry-After` seconds.",
}


def _has_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters")) or "requestBody" in operation


# What each kind of operation can answer. Each entry: (which operations, statuses).
STATUSES_BY_KIND: list[tuple[str, Callable[[str, dict[str, Any], bool], bool], tuple[int, ...]]] = [
    ("with input", lambda _m, op, _g: _has_input(op), (422,)),
    ("with a body", lambda _m, op, _g: "requestBody" in op, (400,)),
    ("behind an API key", lambda _m, _op, guarded: guarded, (401, 403)),
    (
        "acting for a controller",
        lambda _m, op, _g: any(p.get("name") in ("controller", "controller_id") for p in op.get("parameters", [])),
        (404,),
    ),
    # a state conflict (409); overload, nothing written (503); one taking an Idempotency-Key: IDEMPOTENCY_STATUSES
    ("writes", lambda method, _op, _g: method.upper() not in SAFE_METHODS, (409, 503)),
]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer ``statuses`` besides those of its kind."""
    return {status: {"description": WHAT_IT_MEANS.get(status, HTTPStatus(status).phrase)} for status in statuses}


RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 1}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique value (a UUID, say): a retry with the same key and request gets the first answer "
    "again and writes nothing; the same key with another request is a 422.",
    "schema": {"type": "string", "pattern": f"^[!-~]{{1,{MAX_KEY_LENGTH}}}$"},
}


# what a write taking an Idempotency-Key can answer because of it (web.idempotency), besides its own reasons
IDEMPOTENCY_STATUSES: dict[int, str] = {
    409: "A request with the same `Idempotency-Key` is still being answered; retry once it has finished.",
    422: "The `Idempotency-Key` was already used for another request (another body, path or query).",
}


def _mention(response: dict[str, Any], sentence: str) -> None:
    description = str(response.get("description") or "")
    if sentence not in description:
        response["description"] = f"{description} Or: {sentence}" if description else sentence


CONTROLLER_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"  # a declaration's ids (declarations.schema.Key)
CONTROLLER_PARAMETERS = {
    "controller": "The controller the request acts for (its id in the declaration).",
    "controller_id": "The controller (its id in the declaration).",
}


def _describe_controller(parameter: dict[str, Any]) -> None:
    """The controller parameter: what it is and the shape of an id (any other value names no controller)."""
    if parameter.get("name") in CONTROLLER_PARAMETERS and parameter.get("in") in ("query", "path"):
        parameter.setdefault("description", CONTROLLER_PARAMETERS[parameter["name"]])
        schema = parameter.setdefault("schema", {})
        if schema.get("type") == "string":
            schema.setdefault("pattern", CONTROLLER_ID_PATTERN)
            schema.setdefault("maxLength", 80)


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    content = (existing or {}).get("content")
    if content and "HTTPValidationError" not in str(content):
        return existing or {}  # the route declared what it sends (an HTML page, say)
    description = (existing or {}).get("description") or WHAT_IT_MEANS.get(status) or HTTPStatus(status).phrase
    if status == 422 and description == "Validation Error":
        description = WHAT_IT_MEANS[422]
    headers = dict((existing or {}).get("headers") or {})
    if status == 503:
        headers.setdefault("Retry-After", RETRY_AFTER)
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        **({"headers": headers} if headers else {}),
    }


def _components(schemas: dict[str, Any]) -> None:
    for model in (Problem, ProblemItem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    for generic in ("HTTPValidationError", "ValidationError"):
        schemas.pop(generic, None)


def rewrite(document: dict[str, Any], guarded: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``document`` with every operation's error statuses from the table above, each a ``Problem``."""
    from dataright.web.idempotency import HEADER, needs_idempotency  # it imports web.dependencies, which imports us

    guarded_set = set(guarded)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if needs_idempotency(method.upper(), path):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY))
            for parameter in operation.get("parameters", []):
                _describe_controller(parameter)
            responses: dict[str, Any] = operation["responses"]
            statuses = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for _kind, applies, kind_statuses in STATUSES_BY_KIND:
                if applies(method, operation, (method.upper(), path) in guarded_set):
                    statuses.update(kind_statuses)
            idempotent = any(
                p.get("name") == HEADER and p.get("in") == "header" for p in operation.get("parameters", [])
            )
            if idempotent:
                statuses.update(IDEMPOTENCY_STATUSES)
            for status in sorted(statuses):
                responses[str(status)] = _problem_response(status, responses.get(str(status)))
                if idempotent and status in IDEMPOTENCY_STATUSES:
                    _mention(responses[str(status)], IDEMPOTENCY_STATUSES[status])
            operation["responses"] = dict(sorted(responses.items()))
    _components(document.setdefault("components", {}).setdefault("schemas", {}))
    return document


def install_openapi(app: FastAPI, public: Iterable[tuple[str, str]]) -> None:
    """Serve the rewritten document at ``app.openapi_url`` (built once, on first request)."""
    public_set = set(public)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            guarded = [(r.method, r.path) for r in iter_routes(app) if (r.method, r.path) not in public_set]
            app.openapi_schema = rewrite(document, guarded)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
