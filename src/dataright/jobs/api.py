"""Operations: ``GET /metrics`` and cookie scans run as jobs.

``GET /metrics`` is Prometheus's text format, for a key with the ``ops:read`` scope (every controller). The
figures are counts across every controller (queue depth, overdue requests per controller), so the route
needs a key for ``*``; Prometheus sends it as ``Authorization: Bearer …`` (``authorization`` in its scrape
configuration).

``POST /api/v1/cookie-scans?controller=…`` (``cookies:write``) queues a ``cookies.scan`` job for a site of the
controller and answers 202 with the scan's id; ``GET /api/v1/cookie-scans/{scan_id}?controller=…``
(``cookies:read``) shows the job's state and, once it ran, what the scan found. These routes live with the
jobs, not in the cookies domain, because asking for a job is the jobs' business (the dependency rule).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dataright.access.keycache import VerifiedKey
from dataright.access.scopes import COOKIES_READ, COOKIES_WRITE, OPS_READ
from dataright.access.service import actor_of
from dataright.cookies import service as cookies
from dataright.cookies.models import CookieScan
from dataright.errors import NotFound
from dataright.jobs.metrics import render
from dataright.jobs.models import Job
from dataright.jobs.service import enqueue
from dataright.jobs.tasks import COOKIE_SCAN, SCAN_MAX_PAGES, SCAN_MAX_SECONDS, cookie_scan_args
from dataright.web.dependencies import ReadSession, Registry, require_scope
from dataright.web.idempotency import IdempotentWrite
from dataright.web.openapi import problems

router = APIRouter(tags=["operations"])
OpsReader = Annotated[VerifiedKey, Depends(require_scope(OPS_READ))]
CookiesReader = Annotated[VerifiedKey, Depends(require_scope(COOKIES_READ, controller_query=True))]
CookiesWriter = Annotated[VerifiedKey, Depends(require_scope(COOKIES_WRITE, controller_query=True))]


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


class CookieScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(max_length=200, description="The page to start on (http:// or https://).")
    max_pages: int = Field(10, ge=1, le=SCAN_MAX_PAGES, description="Pages to visit in each of the three phases.")
    timeout: float = Field(90.0, ge=1, le=SCAN_MAX_SECONDS, description="Seconds for the whole scan.")


class CookieScanOut(BaseModel):
    scan_id: uuid.UUID
    controller: str
    url: str
    state: str
    """The job's state: queued, running, waiting (a retry after a failure), succeeded, failed, cancelled."""
    last_error: str | None = None
    """Why the last attempt failed, while the scan waits for its retry or once it failed for good (a class of
    error and what to fix, e.g. ``ConfigurationError: Chromium not found at ...``)."""
    scanned_at: datetime | None = None
    pages: int | None = None
    violations: int | None = None
    notices: int | None = None
    report: dict[str, Any] | None = None
    """Once it ran: every cookie and local-storage entry seen in each phase, who set it, and the findings."""


@router.post(
    "/api/v1/cookie-scans", status_code=202, response_model=CookieScanOut, responses=problems(401, 403, 404, 422)
)
async def queue_cookie_scan(
    controller: str, body: CookieScanIn, key: CookiesWriter, writer: IdempotentWrite, registry: Registry
) -> CookieScanOut:
    """Queue a cookie scan of a site of the controller (headless Chromium: no choice, "reject all", "accept
    all"); it runs on the server's job runner or a ``dataright worker``. Poll the answer's scan for the result."""
    registry.controller(controller)  # an unknown controller is a 404 now, not a failed job later
    args = cookie_scan_args(controller, body.url, max_pages=body.max_pages, timeout=body.timeout)

    def work(session: Session) -> CookieScanOut:
        job_id = enqueue(session, COOKIE_SCAN, args, actor=actor_of(key))
        return CookieScanOut(scan_id=job_id, controller=controller, url=body.url, state="queued")

    return await writer(work)


@router.get("/api/v1/cookie-scans/{scan_id}", response_model=CookieScanOut, responses=problems(401, 403, 404))
def show_cookie_scan(scan_id: uuid.UUID, controller: str, key: CookiesReader, session: ReadSession) -> CookieScanOut:
    """A cookie scan: the state of its job and, once it ran, what it found."""
    job = session.get(Job, scan_id)
    if job is None or job.kind != COOKIE_SCAN or job.args.get("controller_id") != controller:
        raise NotFound(f"no cookie scan {scan_id} of controller {controller!r}")
    out = CookieScanOut(
        scan_id=scan_id,
        controller=controller,
        url=str(job.args.get("url", "")),
        state=job.state,
        last_error=job.last_error if job.state in ("waiting", "failed") else None,
    )
    scan: CookieScan | None
    try:
        scan = cookies.get(session, controller_id=controller, scan_id=scan_id)
    except NotFound:
        scan = None
    if scan is not None:
        out.scanned_at, out.pages, out.violations, out.notices = (
            scan.scanned_at,
            scan.pages,
            scan.violations,
            scan.notices,
        )
        out.report = scan.report
    return out
