"""Every error leaves the API as RFC 9457 ``application/problem+json``.

``type`` is ``urn:dataright:problem:<kind>`` for dataright's own errors (one per class of ``errors.py``) and
``about:blank`` for plain HTTP errors (the status says it all). Validation errors list each problem in
``errors``: body fields by JSON pointer (``{"pointer": "#/items/0/purpose", "detail": ...}``), parameters by
name and place (``{"parameter": "controller", "in": "query", "detail": ...}``). A body that is not JSON
at all is a 400 naming the line and column where it stops being JSON. A 405 lists in ``Allow`` every method
the path answers. A 500 says nothing about its cause; the traceback goes to the server log (and SQL parameter
values never reach it: engines hide them, see ``storage.engine``).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from dataright.errors import (
    DataRightError,
    DeclarationError,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    problem_type,
)
from dataright.web.routes import flat_routes

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("dataright.web")


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(parts: tuple[Any, ...] | list[Any]) -> str:
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "#/" + "/".join(escaped) if parts else "#"


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        location = list(error.get("loc", ()))
        place = location[0] if location else "body"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        entry: dict[str, Any] = {"detail": message}
        if place == "body":
            entry["pointer"] = _pointer(location[1:])
        else:
            if location[1:]:
                entry["parameter"] = ".".join(str(p) for p in location[1:])
            entry["in"] = place
        errors.append(entry)
    return errors


def _summary(errors: list[dict[str, Any]]) -> str:
    """``"#/items/0/purpose: ...; controller (query): ..."``, the first few problems in one line."""
    parts = []
    for error in errors[:3]:
        where = error.get("pointer") or (f"{error['parameter']} ({error['in']})" if "parameter" in error else "")
        parts.append(f"{where}: {error['detail']}" if where and where != "#" else error["detail"])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


async def _dataright_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DataRightError)
    extensions: dict[str, Any] = {}
    if isinstance(exc, DeclarationError):
        extensions["errors"] = [
            {"detail": p.message, "file": p.file, "line": p.line, "path": p.path} for p in exc.problems
        ]
    more = getattr(exc, "problem_extensions", None)
    if callable(more):
        extensions.update(more())
    headers = {"WWW-Authenticate": 'Bearer realm="dataright"'} if isinstance(exc, Unauthenticated) else None
    if isinstance(exc, Unavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    elif exc.status >= 500:
        logger.error("%s: %s", type(exc).__name__, exc)
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=str(exc) if exc.status < 500 or isinstance(exc, Unavailable) else None,
        type_=problem_type(type(exc)),
        headers=headers,
        **extensions,
    )


def line_and_column(document: str | bytes, position: int) -> tuple[int, int]:
    """1-based line and column of character ``position`` of ``document``."""
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    before = text[:position]
    line = before.count("\n") + 1
    return line, position - (before.rfind("\n") + 1) + 1


def _malformed_json(request: Request, exc: RequestValidationError) -> JSONResponse | None:
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            location = error.get("loc", ())
            position = location[1] if len(location) > 1 and isinstance(location[1], int) else 0
            line, column = line_and_column(exc.body or "", position)
            reason = (error.get("ctx") or {}).get("error", "not JSON")
            return problem_response(
                request,
                status=400,
                title="Malformed JSON",
                detail=f"the body is not JSON: {reason} at line {line}, column {column}",
                type_="urn:dataright:problem:malformed-json",
                errors=[{"detail": str(reason), "line": line, "column": column}],
            )
    return None


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    malformed = _malformed_json(request, exc)
    if malformed is not None:
        return malformed
    errors = validation_errors(exc)
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        detail=_summary(errors),
        type_=problem_type(ValidationFailed),
        errors=errors,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on the request's path (a path may be served by several routes)."""
    methods: set[str] = set()
    for route in flat_routes(request.app.routes):
        match, _ = route.matches(request.scope)
        if match in (Match.FULL, Match.PARTIAL):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(request, status=exc.status_code, title=phrase, detail=detail, headers=headers or None)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        # a pooled connection the database closed (a restart): the pool has been renewed; a retry will do
        logger.warning("database connection lost on %s %s; answered 503", request.method, request.url.path)
        return await _dataright_error(
            request, Unavailable("the database connection was lost; try again shortly", retry_after=1)
        )
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, status=500, title="Internal Server Error")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DataRightError, _dataright_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
