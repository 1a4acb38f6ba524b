"""The built-in job kinds and the schedules that fire them. Each is thin: it calls a domain's service.

Every one of them may run twice (a worker dies, a message is delivered again) without harm:

* ``mail.send`` drains the outbox; the outbox rows carry their own claim, so a second sender skips them.
* ``requests.remind`` writes reminders (staff's requests, and breach clocks near or past due) whose outbox
  dedupe key holds the day: the second run adds nothing.
* ``requests.expire`` only moves requests still ``received`` past the verification window.
* ``retention.sweep`` runs a controller's sweep; its batches are set-based and a re-run converges (what a
  killed sweep deleted stays deleted, the rest is done by the next attempt).
* ``cookies.scan`` crawls a site and stores what it found under the job's id: a second run replaces the row
  (``cookies.service.record``), so the findings are written once per job however often it runs.
  ``cookies.scan_all`` (a schedule, off unless ``schedule_cookie_scan_seconds`` is set) enqueues one scan of
  each served controller's declared ``website``, one live scan per controller.
* ``requests.fulfil_scan`` enqueues ``requests.fulfil`` once per request (a dedupe key); ``requests.fulfil``
  acts only on a request still in progress with open datastore tasks, and the engine resumes an erasure
  after its last finished table (its checkpoints).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from dataright.breach import service as breaches
from dataright.config import Settings, environment
from dataright.connectors.base import DatastoreUnavailable
from dataright.cookies import service as cookies
from dataright.engine.service import Engine, Kind, Request, normalise_identities
from dataright.errors import ValidationFailed
from dataright.identity.crypto import decrypt
from dataright.jobs.models import Job
from dataright.jobs.registry import job_kind
from dataright.jobs.runtime import JobContext
from dataright.jobs.service import MAX_ARG_TEXT, Schedule, enqueue
from dataright.mail.sender import Sender, transport_for
from dataright.requests import fulfilment
from dataright.requests import service as requests
from dataright.requests.lifecycle import RequestType, Status
from dataright.requests.models import RightsRequest
from dataright.retention import policies
from dataright.retention.service import Retention
from dataright.storage.engine import session_scope

ACTOR = "jobs"
ENGINE_KIND: dict[str, Kind] = {
    RequestType.erasure.value: "erase",
    RequestType.rectification.value: "rectify",
    RequestType.restriction.value: "restrict",
}
ENGINE_IDENTITY = {"email": "email", "phone": "phone_number", "customer_id": "customer_id"}
"""The request's identifier kind -> the identity kind datasets declare."""
FULFIL = "requests.fulfil"
COOKIE_SCAN = "cookies.scan"
COOKIE_SCAN_ALL = "cookies.scan_all"
SCAN_MAX_PAGES = 50
SCAN_MAX_SECONDS = 600.0


def fulfil_key(request_id: uuid.UUID) -> str:
    """The dedupe key of a request's engine job: one live job per request."""
    return f"{FULFIL}:{request_id}"


def default_schedules(settings: Settings) -> list[Schedule]:
    if not settings.jobs_schedules:
        return []
    return [
        Schedule("mail.send", "mail.send", settings.schedule_mail_seconds),
        Schedule("requests.remind", "requests.remind", settings.schedule_requests_seconds),
        Schedule("requests.expire", "requests.expire", settings.schedule_requests_seconds),
        Schedule("requests.fulfil_scan", "requests.fulfil_scan", settings.schedule_fulfilment_seconds),
        Schedule("retention.sweep_all", "retention.sweep_all", settings.schedule_retention_seconds),
        *(
            [Schedule(COOKIE_SCAN_ALL, COOKIE_SCAN_ALL, settings.schedule_cookie_scan_seconds)]
            if settings.schedule_cookie_scan_seconds
            else []
        ),
    ]


@job_kind("mail.send", max_attempts=3, backoff_seconds=30.0, lease_seconds=600.0)
def send_mail(ctx: JobContext) -> dict[str, Any]:
    """Send what is due in the outbox (the sender's own back-off and at-most-once rules apply per message)."""
    sender = Sender(ctx.factory, ctx.settings, transport_for(ctx.settings))
    report = sender.drain(once=True)
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed, "unknown": report.unknown}


@job_kind("requests.remind", max_attempts=3, backoff_seconds=60.0)
def remind_staff(ctx: JobContext) -> None:
    """Today's reminder to each assigned staff member of every controller served (once a day per person), and
    the breach reminder to each controller's privacy contact of the legal clocks near or past due."""
    total = warned = 0
    days = ctx.settings.reminder_within_days
    with ctx.transaction() as session:
        for controller_id in ctx.declarations.controller_ids:
            declaration = ctx.declarations.controller(controller_id).declaration
            total += requests.remind(
                session,
                declaration=declaration,
                controller_id=controller_id,
                within=days,
                today=ctx.env.clock().date(),
            )
            warned += len(
                breaches.remind(
                    session,
                    declaration=declaration,
                    controller_id=controller_id,
                    within=timedelta(days=days),
                    now=ctx.env.clock(),
                )
            )
        ctx.result.update({"reminders": total, "breach_clocks": warned})


@job_kind("requests.expire", max_attempts=3, backoff_seconds=60.0)
def expire_requests(ctx: JobContext) -> None:
    """Expire requests whose requester never confirmed who they are."""
    with ctx.transaction() as session:
        ctx.result["expired"] = requests.expire_unverified(
            session,
            controller_ids=ctx.declarations.controller_ids,
            declaration_of=lambda c: ctx.declarations.controller(c).declaration,
            now=ctx.env.clock(),
        )


@job_kind("requests.fulfil_scan", max_attempts=2, backoff_seconds=30.0)
def scan_fulfilment(ctx: JobContext) -> None:
    """Enqueue the engine's work for every request in progress that has none yet: the safety net behind the
    doors, which enqueue it in the transaction that starts the request (``jobs.fulfilment.start_work``)."""
    with ctx.transaction() as session:
        started = 0
        for request_id in requests.awaiting_engine(session):
            key = fulfil_key(request_id)
            if session.scalar(select(Job.id).where(Job.dedupe_key == key).limit(1)) is not None:
                continue  # one job per request; a failed one waits for `dataright jobs retry`
            enqueue(session, FULFIL, {"request_id": str(request_id)}, dedupe_key=key, actor=ACTOR)
            started += 1
        ctx.result["enqueued"] = started


def _identities(request: RightsRequest) -> dict[str, str]:
    value = decrypt(request.filed_with, request.identifier_kind, request.identifier_ciphertext)
    return normalise_identities({ENGINE_IDENTITY.get(request.identifier_kind, request.identifier_kind): value})


@job_kind(FULFIL, max_attempts=8, backoff_seconds=60.0, backoff_max_seconds=6 * 3600.0, lease_seconds=900.0)
def fulfil_request(ctx: JobContext) -> None:
    """Run the engine for a request's open datastore tasks; tick them off when it finished, or mark them
    "waiting on datastore X" and try again later (back-off) when a datastore does not answer."""
    request_id = uuid.UUID(str(ctx.args["request_id"]))
    with session_scope(ctx.factory, write=False) as session:
        request = session.get(RightsRequest, request_id)
        if request is None or request.status != Status.in_progress.value or request.type not in ENGINE_KIND:
            ctx.result["skipped"] = 1
            return
        if request.filed_by == "guardian":
            ctx.result["skipped"] = 1  # the identity on file is the guardian's, not the child's: staff act
            return
        kind = ENGINE_KIND[request.type]
        by_controller: dict[str, list[int]] = defaultdict(list)
        for task in request.tasks:
            if task.kind == fulfilment.DATASTORE and task.status == "open":
                by_controller[task.controller_id].append(task.id)
        identities = _identities(request)
        changes = requests.corrections_of(request, ctx.settings.keys()) if kind == "rectify" else {}
    if kind == "rectify" and not changes:
        ctx.result["skipped"] = 1  # no corrected values yet: staff give them (PUT .../corrections) or act by hand
        return
    runs: dict[str, tuple[str, int]] = {}
    for controller_id in sorted(by_controller):
        declaration = ctx.declarations.controller(controller_id).declaration
        engine = Engine(
            declaration,
            session_factory=ctx.factory,
            keys=ctx.settings.keys(),
            environ=environment(),
            actor=ACTOR,
            today=ctx.env.clock().date(),
            retries=0,  # the job's back-off retries, not the engine's quick ones
        )
        run = {"erase": engine.erase, "rectify": engine.rectify, "restrict": engine.restrict}[kind]
        try:
            outcome = run(Request(kind, controller_id, identities, changes=changes))
        except ValidationFailed as exc:  # corrections the declaration refuses: names fields, never values
            with session_scope(ctx.factory) as session:
                found = session.get(RightsRequest, request_id)
                if found is not None:
                    requests.note_tasks(
                        session,
                        request=found,
                        controller_id=controller_id,
                        note=f"the engine refused it: {exc}"[:500],
                        actor=ACTOR,
                    )
            raise
        except DatastoreUnavailable as exc:
            with session_scope(ctx.factory) as session:
                found = session.get(RightsRequest, request_id)
                if found is not None:
                    requests.note_waiting(
                        session,
                        request=found,
                        controller_id=controller_id,
                        dataset=exc.dataset,
                        note=f"waiting on datastore {exc.dataset} (attempt {ctx.attempt} of {ctx.max_attempts})",
                        actor=ACTOR,
                    )
            raise
        finally:
            engine.close()
        runs[controller_id] = (str(outcome.run_id), sum(step.rows for step in outcome.steps))
    with ctx.transaction() as session:
        found = session.get(RightsRequest, request_id)
        ticked = 0
        if found is not None and found.status == Status.in_progress.value:
            for controller_id, task_ids in by_controller.items():
                run_id, rows = runs[controller_id]
                for task_id in task_ids:
                    open_task = next((t for t in found.tasks if t.id == task_id), None)
                    if open_task is None or open_task.status != "open":
                        continue
                    requests.complete_task(
                        session,
                        request=found,
                        task_id=task_id,
                        controller_id=controller_id,
                        actor=ACTOR,
                        note=f"engine run {run_id}: {rows} row(s)",
                    )
                    ticked += 1
        ctx.result.update({"tasks_done": ticked, "controllers": len(runs)})


class RetentionIncomplete(Exception):
    """A sweep ran but some rules failed (a datastore did not answer); the next attempt converges."""


@job_kind(
    "retention.sweep", max_attempts=5, backoff_seconds=300.0, backoff_max_seconds=6 * 3600.0, lease_seconds=1800.0
)
def sweep_retention(ctx: JobContext) -> None:
    """Run one controller's retention sweep (set-based, batched; a re-run continues where it stopped)."""
    controller_id = str(ctx.args["controller_id"])
    declaration = ctx.declarations.controller(controller_id).declaration
    outcome = Retention(
        declaration,
        controller_id=controller_id,
        session_factory=ctx.factory,
        keys=ctx.settings.keys(),
        environ=environment(),
        actor=ACTOR,
    ).run()
    failed = [r.rule_id for r in outcome.rules if r.outcome == "failed"]
    ctx.result.update(
        {"run_id": str(outcome.run_id), "rules": len(outcome.rules), "rows": sum(outcome.per_rule().values())}
    )
    if failed:
        raise RetentionIncomplete(f"{len(failed)} rule(s) failed")


@job_kind("retention.sweep_all", max_attempts=2, backoff_seconds=60.0)
def sweep_all_retention(ctx: JobContext) -> None:
    """Enqueue a sweep for every controller served that has retention rules (one live sweep per controller)."""
    with ctx.transaction() as session:
        enqueued = 0
        for controller_id in ctx.declarations.controller_ids:
            declaration = ctx.declarations.controller(controller_id).declaration
            today = ctx.env.clock().date()
            if not policies.problems(declaration, controller_id) and not policies.rule_policies(
                declaration, controller_id, today
            ):
                continue  # no retention rule binds this controller; one with problems is enqueued and fails visibly
            enqueue(
                session,
                "retention.sweep",
                {"controller_id": controller_id},
                dedupe_key=f"retention.sweep:{controller_id}",
                actor=ACTOR,
            )
            enqueued += 1
        ctx.result["enqueued"] = enqueued


def cookie_scan_args(controller_id: str, url: str, *, max_pages: int = 10, timeout: float = 90.0) -> dict[str, Any]:
    """A ``cookies.scan`` job's arguments, checked (a clear error names the bad one)."""
    from dataright.cookies.scanner import check_url

    check_url(url)
    if len(url) > MAX_ARG_TEXT:
        raise ValidationFailed(f"url: at most {MAX_ARG_TEXT} characters for a scan run as a job")
    if not 1 <= max_pages <= SCAN_MAX_PAGES:
        raise ValidationFailed(f"max_pages {max_pages}: expected 1 to {SCAN_MAX_PAGES}")
    if not 1 <= timeout <= SCAN_MAX_SECONDS:
        raise ValidationFailed(f"timeout {timeout}: expected 1 to {SCAN_MAX_SECONDS:.0f} seconds")
    return {"controller_id": controller_id, "url": url, "max_pages": max_pages, "timeout": float(timeout)}


@job_kind(COOKIE_SCAN, max_attempts=2, backoff_seconds=300.0, lease_seconds=SCAN_MAX_SECONDS + 300.0)
def scan_cookies(ctx: JobContext) -> None:
    """Crawl the site in headless Chromium (three phases) and store the report as scan ``job id``."""
    from dataright.cookies.scanner import ScanOptions, scan

    controller_id = str(ctx.args["controller_id"])
    declaration = ctx.declarations.controller(controller_id).declaration
    options = ScanOptions(
        url=str(ctx.args["url"]),
        chromium=ctx.settings.chromium,
        max_pages=int(ctx.args.get("max_pages", 10)),
        timeout=float(ctx.args.get("timeout", 90.0)),
    )
    report = scan(options, controller_id, declaration.cookies_of(controller_id))
    with ctx.transaction() as session:
        stored = cookies.record(session, scan_id=ctx.job_id, report=report, actor=ACTOR)
        ctx.result.update(
            {
                "scan_id": str(stored.id),
                "pages": stored.pages,
                "violations": stored.violations,
                "notices": stored.notices,
            }
        )


@job_kind(COOKIE_SCAN_ALL, max_attempts=2, backoff_seconds=60.0)
def scan_all_cookies(ctx: JobContext) -> None:
    """Enqueue a scan of the declared website of every controller served that names one."""
    with ctx.transaction() as session:
        enqueued = 0
        for controller_id in ctx.declarations.controller_ids:
            declaration = ctx.declarations.controller(controller_id).declaration
            website = declaration.controller_by_id[controller_id].website
            if not website or not website.startswith(("http://", "https://")) or len(website) > MAX_ARG_TEXT:
                continue
            enqueue(
                session,
                COOKIE_SCAN,
                cookie_scan_args(controller_id, website),
                dedupe_key=f"{COOKIE_SCAN}:{controller_id}",
                actor=ACTOR,
            )
            enqueued += 1
        ctx.result["enqueued"] = enqueued
