"""``GET /metrics``: Prometheus's text format, for a key with the ``ops:read`` scope (every controller).

The figures are counts across every controller (queue depth, overdue requests per controller), so the route
needs a key for ``*``; Prometheus sends it as ``Authorization: Bearer …`` (``authorization`` in its scrape
configuration).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from dataright.access.keycache import VerifiedKey
from dataright.access.scopes import OPS_READ
from dataright.jobs.metrics import render
from dataright.web.dependencies import require_scope
from dataright.web.openapi import problems

router = APIRouter(tags=["operations"])
OpsReader = Annotated[VerifiedKey, Depends(require_scope(OPS_READ))]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, **problems(401, 403)},
)
async def metrics(request: Request, key: OpsReader) -> Response:
    """Jobs by kind and state, job durations, failed attempts, schedules fired, overdue requests and the rows
    retention rules acted on (Prometheus text format)."""
    body = await run_in_threadpool(render, request.app.state.metrics_registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
