"""Every error leaves the API as RFC 9457 ``application/problem+json``.

``type`` is ``urn:dataright:problem:<kind>`` for dataright's own errors (one per class of ``errors.py``) and
``about:blank`` for plain HTTP errors (the status says it all). Validation errors list each problem in
``errors``: body fields by JSON pointer (``{"pointer": "#/items/0/purpose", "detail": ...}``), parameters by
name and place (``{"parameter": "controller", "in": "query", "detail": ...}``). A 500 says nothing about
its cause; the traceback goes to the server log.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dataright.errors import DataRightError, DeclarationError, Unauthenticated, Unavailable, ValidationFailed

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("dataright.web")


def problem_type(error: type[DataRightError]) -> str:
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", error.__name__).lower()
    return f"urn:dataright:problem:{kebab}"


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
        entry: dict[str, Any] = {"detail": error.get("msg", "invalid")}
        if place == "body":
            entry["pointer"] = _pointer(location[1:])
        else:
            entry["parameter"] = ".".join(str(p) for p in location[1:])
            entry["in"] = place
        errors.append(entry)
    return errors


async def _dataright_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DataRightError)
    extensions: dict[str, Any] = {}
    if isinstance(exc, DeclarationError):
        extensions["errors"] = [
            {"detail": p.message, "file": p.file, "line": p.line, "path": p.path} for p in exc.problems
        ]
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


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    return problem_response(
        request,
        status=422,
        title="Validation failed",
        detail=f"{len(errors)} problem(s) in the request",
        type_=problem_type(ValidationFailed),
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    return problem_response(
        request, status=exc.status_code, title=phrase, detail=detail, headers=dict(exc.headers or {}) or None
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, status=500, title="Internal Server Error")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DataRightError, _dataright_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
