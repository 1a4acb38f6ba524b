"""``create_app()``: the FastAPI application.

Built eagerly: the settings (installed for the process, so identity hashing uses its keys), the declarations
by controller id, the engine and session factory, the API key verifier (with its short-lived cache) and the
in-process consent checker (the check route's fast path). At start-up (lifespan) the embedded SQLite database is
migrated to head; a PostgreSQL database must already be there (``dataright db upgrade``), or the server
refuses to start. Start-up also sets the worker threads (``worker_threads``: AnyIO's thread limit, shared by
every plain ``def`` route and dependency) and, on PostgreSQL, opens the consent check's own asyncio pool
(``check_pool_size`` connections; ``app.state.async_checker``, ``None`` until then and on SQLite). Domains add
their routers in ``_include_routers``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlalchemy import Engine, QueuePool, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from dataright import __version__
from dataright.access.service import KeyVerifier
from dataright.audit.api import router as audit_router
from dataright.audit.sealer import AuditSealer
from dataright.breach.api import router as breach_router
from dataright.config import Settings, get_settings, use_settings
from dataright.consent.api import router as consent_router
from dataright.consent.check import AsyncConsentChecker, ConsentChecker
from dataright.consent.dnc import FileDncRegistry
from dataright.consent.pages import router as consent_pages
from dataright.cookies.pages import router as cookie_pages
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import ConfigurationError, ValidationFailed
from dataright.idempotency import service as idempotency
from dataright.jobs.api import router as jobs_router
from dataright.jobs.fulfilment import start_work
from dataright.jobs.metrics import metrics_registry
from dataright.jobs.registry import load_kinds
from dataright.jobs.runners import runner_for
from dataright.jobs.runtime import JobEnvironment
from dataright.requests.api import router as requests_router
from dataright.requests.pages import router as requests_pages
from dataright.requests.verification import load_sms_sender
from dataright.storage.engine import make_engine, make_session_factory, pool_options, session_scope
from dataright.storage.migrate import current_revision, head_revision, upgrade
from dataright.web.dependencies import SCOPE_MARK, WriteGate
from dataright.web.docs import install_docs
from dataright.web.idempotency import GUARD_MARK, needs_idempotency
from dataright.web.idempotency import install as install_idempotency
from dataright.web.openapi import install_openapi, problems
from dataright.web.problems import install_problem_handlers, problem_response
from dataright.web.routes import iter_routes

logger = logging.getLogger("dataright.web")

# (method, path template) pairs anyone may call. Everything else needs an API key (see web.dependencies).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        # consent: a cookie banner runs in the visitor's browser and cannot hold a key (anonymous devices only,
        # rate-limited); one-click unsubscribe links are reached from e-mails, the signed token is the credential
        ("POST", "/api/v1/cookie-consent"),
        ("GET", "/u/{token}"),
        ("POST", "/u/{token}"),
        # the cookie banner a site embeds (script and stylesheet) and, in demo mode, its demo site
        ("GET", "/banner/{controller}.js"),
        ("GET", "/banner/{controller}.css"),
        ("GET", "/demo/{controller}/"),
        # rights requests: anyone may file one (rate-limited; the answer never says whether the person is known)
        # and confirm it with the code or magic link sent to them; a package is fetched with its signed token
        ("POST", "/api/v1/requests"),
        ("POST", "/api/v1/requests/{reference}/verify"),
        ("POST", "/api/v1/requests/{reference}/resend"),
        ("GET", "/api/v1/requests/{reference}/package"),
        ("GET", "/v/{token}"),
        ("POST", "/v/{token}"),
    }
)


def _include_routers(app: FastAPI) -> None:
    # Consent first: a request is matched against the routes in order, and the consent check is the route
    # called most (no two routers' paths overlap, so the order changes nothing else).
    app.include_router(consent_router)
    app.include_router(audit_router)
    app.include_router(breach_router)
    app.include_router(jobs_router)
    app.include_router(consent_pages)
    app.include_router(cookie_pages)
    app.include_router(requests_router)
    app.include_router(requests_pages)


def _has_mark(dependant: Dependant, mark: str) -> bool:
    call = dependant.call
    if call is not None and hasattr(call, mark):
        return True
    return any(_has_mark(sub, mark) for sub in dependant.dependencies)


def routes_without_idempotency(app: FastAPI) -> list[tuple[str, str]]:
    """Write routes under ``/api/v1`` that do not take an ``Idempotency-Key`` (``web.idempotency``)."""
    return [
        (route.method, route.path)
        for route in iter_routes(app)
        if needs_idempotency(route.method, route.path)
        and (route.dependant is None or not _has_mark(route.dependant, GUARD_MARK))
    ]


def _scopes_required(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    call = dependant.call
    if call is not None and hasattr(call, SCOPE_MARK):
        found.add(str(getattr(call, SCOPE_MARK)))
    for sub in dependant.dependencies:
        found |= _scopes_required(sub)
    return found


def unguarded_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Routes that are neither public nor behind ``require_scope``."""
    return [
        (route.method, route.path)
        for route in iter_routes(app)
        if (route.method, route.path) not in PUBLIC_ROUTES
        and (route.dependant is None or not _scopes_required(route.dependant))
    ]


def write_slots(engine: Engine) -> int:
    """How many write transactions may run at once: one on SQLite (its writes take turns anyway, and a turn
    waited for on the event loop costs no thread), the pool's size on PostgreSQL (the overflow is left to
    reads)."""
    if engine.dialect.name == "sqlite":
        return 1
    pool = engine.pool
    return max(1, pool.size()) if isinstance(pool, QueuePool) else 1


IDEMPOTENCY_PURGE_SECONDS = 3600.0


async def _purge_idempotency_keys(factory: sessionmaker[Session]) -> None:
    """At start and then hourly: delete idempotency keys past their lifetime (one indexed DELETE)."""

    def purge() -> int:
        with session_scope(factory) as session:
            return idempotency.purge_expired(session)

    while True:
        try:
            removed = await run_in_threadpool(purge)
            if removed:
                logger.info("removed %d expired idempotency key(s)", removed)
        except Exception:
            logger.exception("purging expired idempotency keys failed; trying again later")
        await asyncio.sleep(IDEMPOTENCY_PURGE_SECONDS)


def _resolve_settings(settings: Settings | None) -> Settings:
    settings = settings or get_settings()
    if settings.secret_key is None:
        if not settings.demo:
            settings.require_secret()  # raises ConfigurationError with what to set
        settings = settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))})
        logger.warning("demo mode without DATARIGHT_SECRET_KEY: using an ephemeral secret key for this run")
    return settings


def load_dnc_registry(settings: Settings) -> FileDncRegistry | None:
    """The Do Not Call registry named by ``settings.dnc_registry_file``; a bad file stops start-up."""
    path = settings.dnc_registry_file
    if path is None:
        return None
    if not path.is_file():
        raise ConfigurationError(f"dnc_registry_file={path}: no such file")
    try:
        return FileDncRegistry.from_file(path)
    except ValidationFailed as exc:
        raise ConfigurationError(f"dnc_registry_file={path} has bad lines:\n{exc}") from None


def create_app(
    settings: Settings | None = None,
    declarations: DeclarationRegistry | Iterable[Path] | None = None,
) -> FastAPI:
    """The application for ``settings`` (default: from the environment) serving ``declarations``
    (a registry, or paths to load; default: ``settings.declarations``)."""
    settings = _resolve_settings(settings)
    use_settings(settings)
    load_kinds(settings.job_modules)
    if isinstance(declarations, DeclarationRegistry):
        registry = declarations
    else:
        registry = DeclarationRegistry.from_paths(declarations if declarations is not None else settings.declarations)
    engine = make_engine(settings.database_url, busy_timeout=settings.db_write_timeout, **pool_options(settings))
    checker = ConsentChecker(engine)
    # On PostgreSQL the sealer has a connection of its own: sharing the sessions' pool, its turn each second
    # found all pooled connections held by writes and opened (and closed) an overflow connection each time.
    sealer_engine = (
        make_engine(settings.database_url, pool_size=1, max_overflow=1, pool_timeout=settings.db_pool_timeout)
        if engine.dialect.name == "postgresql"
        else engine
    )
    sealer = AuditSealer(
        sealer_engine,
        head_key=settings.keys().audit_head,
        interval=settings.audit_seal_interval,
        head_file=settings.audit_head_file,
        head_url=settings.audit_head_url,
        head_interval=settings.audit_head_interval,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.is_sqlite:
            upgrade(engine)
        elif current_revision(engine) != head_revision():
            raise ConfigurationError(
                f"the database is at revision {current_revision(engine) or 'none'}, not {head_revision()}; "
                "run `dataright db upgrade`"
            )
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        async_checker: AsyncConsentChecker | None = None
        if engine.dialect.name == "postgresql":
            async_checker = AsyncConsentChecker(engine, size=settings.check_pool_size, timeout=settings.db_pool_timeout)
            await async_checker.open()
        app.state.async_checker = async_checker
        sealer.start()
        sweeper = asyncio.create_task(_purge_idempotency_keys(app.state.session_factory))
        runner = runner_for(settings, JobEnvironment(app.state.session_factory, settings, registry), in_server=True)
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await run_in_threadpool(runner.stop)
            sweeper.cancel()
            sealer.stop()
            app.state.async_checker = None
            if async_checker is not None:
                await async_checker.close()
            checker.close()
            engine.dispose()
            sealer_engine.dispose()

    app = FastAPI(
        title="dataright",
        version=__version__,
        summary="Privacy operations as code: consent, rights requests, retention and the audit trail.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.write_gate = WriteGate(
        app.state.session_factory, slots=write_slots(engine), timeout=settings.db_write_timeout
    )
    app.state.audit_sealer = sealer
    app.state.metrics_registry = metrics_registry(app.state.session_factory)
    app.state.key_verifier = KeyVerifier(engine)
    app.state.consent_checker = checker
    app.state.async_checker = None
    app.state.dnc_registry = load_dnc_registry(settings)
    app.state.sms_sender = load_sms_sender(settings.sms_sender)
    app.state.start_work = start_work
    if settings.cors_origins:
        # Only banners call across origins; no credentials, and no Authorization header is allowed, so a
        # keyed route can never be called from a listed site's page.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["POST"],
            allow_headers=["Content-Type", "Sec-GPC", "Idempotency-Key"],
            allow_credentials=False,
        )
    install_problem_handlers(app)
    install_idempotency(app)

    @app.get("/healthz", tags=["health"], responses=problems(503))
    def healthz(request: Request) -> JSONResponse:
        """Whether the server is up and reaches its database; lists the controllers it serves."""
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            logger.exception("health check: database unreachable")
            return problem_response(
                request,
                status=503,
                title="Service Unavailable",
                detail="the database is unreachable",
                database="unreachable",
            )
        body: dict[str, Any] = {"status": "ok", "database": "ok", "controllers": registry.controller_ids}
        return JSONResponse(body)

    _include_routers(app)
    install_docs(app)
    install_openapi(app, PUBLIC_ROUTES)
    missing = unguarded_routes(app)
    if missing:
        listed = ", ".join(f"{m} {p}" for m, p in missing)
        raise RuntimeError(f"routes without require_scope that are not in PUBLIC_ROUTES: {listed}")
    retried = routes_without_idempotency(app)
    if retried:
        listed = ", ".join(f"{m} {p}" for m, p in retried)
        raise RuntimeError(f"write routes without an Idempotency-Key guard (web.idempotency): {listed}")
    return app
