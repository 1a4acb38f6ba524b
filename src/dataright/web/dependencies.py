"""What routes depend on: a database session, the authenticated API key, the settings and declarations.

**The controller convention.** Every non-public route acts for one controller and names it in one of two
places, which the key check reads before the route runs:

* the path parameter ``controller_id``: ``/api/v1/controllers/{controller_id}/...`` with
  ``require_scope(scope)``, or
* the query parameter ``controller``: ``/api/v1/consent/check?controller=nexalearn&...`` with
  ``require_scope(scope, controller_query=True)`` (the dependency declares the parameter; a request
  without it gets 422 after authentication).

A body may repeat the controller but never be the only place naming it (the route must then check that
both agree with ``ensure_controller``). A route with ``require_scope(scope)`` and no ``{controller_id}``
spans every controller (the whole audit chain, say): only keys for every controller (``*``) pass. A
``controller`` query parameter is never read unless the route asked for it, so it cannot widen a key.
No or a bad key gets 401; a key for controller A asking about controller B gets 403; a key without the
scope gets 403. Public routes are the explicit ``PUBLIC_ROUTES`` allow-list in ``web.app``; ``create_app``
refuses to start when any other route lacks ``require_scope``.

**Keys** are checked against the server's ``KeyVerifier`` (``app.state.key_verifier``), which keeps the key
rows it read for ``access.keycache.KEY_CACHE_SECONDS``: most requests are authenticated without a query. A
key revoked in this process stops working at once; revoked elsewhere, within that many seconds.

**Sessions.** A route that writes declares ``Writer`` and hands its work to it: ``await writer(work)`` runs
``work(session)`` in one transaction begun and committed in one worker thread, never across an ``await``
or a second thread (a transaction held open while a request waits for a thread is what made concurrent
writes queue behind each other). At most ``WriteGate.slots`` writes run at once (one on SQLite, whose
writes take turns anyway; the pool size on PostgreSQL); a write that cannot start within
``settings.db_write_timeout`` seconds, or finds no free connection or SQLite's lock still held, is
answered 503 with ``Retry-After`` and nothing is written. ``ReadSession`` is for routes that only read and
is never committed. (There is deliberately no session dependency that writes: FastAPI would begin it, run
the route and commit it in three different worker threads, with awaits in between.) A route needing none
(the consent check's fast path) declares none, and no session is opened.

Usage::

    @router.get("/api/v1/controllers/{controller_id}/things")
    def things(controller_id: str, key: ConsentReader, session: ReadSession) -> ...

    @router.post("/api/v1/consent/events")
    async def record(controller: str, key: ConsentQueryWriter, writer: Writer) -> ...:
        return await writer(lambda session: ...)
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import anyio
from fastapi import Depends, Query, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dataright.access.keycache import VerifiedKey
from dataright.access.scopes import (
    ADMIN,
    CONSENT_READ,
    CONSENT_WRITE,
    DISCLOSURES_READ,
    REQUESTS_READ,
    REQUESTS_WRITE,
    grants,
)
from dataright.access.service import (
    KeyVerifier,
    ensure_all_controllers,
    ensure_controller,
    ensure_scope,
)
from dataright.config import Settings
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import Unauthenticated, Unavailable, ValidationFailed
from dataright.storage.engine import run_in_transaction
from dataright.web.openapi import problems

if TYPE_CHECKING:
    from dataright.requests.models import RightsRequest

CONTROLLER_PATH_PARAM = "controller_id"
CONTROLLER_QUERY_PARAM = "controller"
SCOPE_MARK = "__dataright_scope__"
CONTROLLER_QUERY_MARK = "__dataright_controller_query__"

__all__ = [
    "Admin",
    "AppSettings",
    "ConsentQueryReader",
    "ConsentQueryWriter",
    "ConsentReader",
    "ConsentWriter",
    "DisclosuresQueryReader",
    "ReadSession",
    "Registry",
    "RequestsQueryReader",
    "RequestsQueryWriter",
    "StartWork",
    "WindowLimiter",
    "WriteGate",
    "Writer",
    "cached_key_for",
    "client_address",
    "ensure_controller",
    "fast_lane_route",
    "problems",
    "request_token",
    "require_scope",
]


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for a route that only reads: never committed, its transaction ends with the request."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


# scope="function" (FastAPI >= 0.12x): the session is closed (its connection back in the pool) before the
# response is sent. Older FastAPI versions run the exit code before sending by default.
_BEFORE_RESPONSE: dict[str, Any] = {"scope": "function"} if "scope" in inspect.signature(Depends).parameters else {}
ReadSession = Annotated[Session, Depends(get_read_session, **_BEFORE_RESPONSE)]


T = TypeVar("T")


class WriteGate:
    """Lets at most ``slots`` write transactions run at once; a write waits for its turn on the event loop
    (holding no thread, connection or lock) for at most ``timeout`` seconds, then gets ``Unavailable``."""

    def __init__(self, factory: sessionmaker[Session], *, slots: int, timeout: float) -> None:
        self.factory, self.slots, self.timeout = factory, slots, timeout
        self._semaphore: anyio.Semaphore | None = None

    async def run(self, work: Callable[[Session], T]) -> T:
        if self._semaphore is None:  # made on first use, inside the server's event loop
            self._semaphore = anyio.Semaphore(self.slots)
        acquired = False
        with anyio.move_on_after(self.timeout):  # only the wait for a turn is bounded, never the write itself
            await self._semaphore.acquire()
            acquired = True
        if not acquired:
            raise Unavailable(
                f"more writes are waiting than the server takes within {self.timeout:g} s; try again shortly",
                retry_after=max(1, round(self.timeout)),
            )
        try:
            return await run_in_threadpool(run_in_transaction, self.factory, work)
        finally:
            self._semaphore.release()


class _Writer:
    def __init__(self, gate: WriteGate) -> None:
        self._gate = gate

    async def __call__(self, work: Callable[[Session], T]) -> T:
        return await self._gate.run(work)


async def get_writer(request: Request) -> _Writer:
    gate: WriteGate = request.app.state.write_gate
    return _Writer(gate)


Writer = Annotated[_Writer, Depends(get_writer)]


# The dependencies below only read the app state (or, for a key the cache does not hold, hand the query to a
# worker thread themselves): ``async def`` keeps them on the event loop, where a plain ``def`` would cost a
# hop to a worker thread each.
async def get_settings_of_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_registry(request: Request) -> DeclarationRegistry:
    registry: DeclarationRegistry = request.app.state.registry
    return registry


AppSettings = Annotated[Settings, Depends(get_settings_of_app)]
Registry = Annotated[DeclarationRegistry, Depends(get_registry)]


class WorkStarter(Protocol):
    """Enqueues the engine's work for a request that was just started, in the caller's transaction (the web
    app sets ``jobs.fulfilment.start_work``: a domain's routes reach the jobs through this, never directly)."""

    def __call__(self, session: Session, request: RightsRequest, *, actor: str) -> object: ...


async def get_work_starter(request: Request) -> WorkStarter:
    starter: WorkStarter = request.app.state.start_work
    return starter


StartWork = Annotated[WorkStarter, Depends(get_work_starter)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer dr_...`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key in `X-API-Key`")


def request_token(request: Request) -> str | None:
    """The API key a request carries, read as the ``Security`` dependencies of ``require_scope`` read it: a
    ``Bearer`` credential in ``Authorization``, else ``X-API-Key``."""
    authorization = request.headers.get("authorization")
    scheme, credentials = get_authorization_scheme_param(authorization)
    if authorization and scheme and credentials and scheme.lower() == "bearer":
        return credentials
    return request.headers.get("x-api-key") or None


def cached_key_for(request: Request, scope: str, controller: str) -> VerifiedKey | None:
    """For a route's fast lane (``fast_lane_route``): the request's key when ``require_scope(scope)`` would
    pass it for ``controller`` from the key cache alone, with no query; None in every other case (no key, a
    bad key, a key not cached, a missing scope, another controller), which the full route then answers."""
    token = request_token(request)
    if not token:
        return None
    verifier: KeyVerifier = request.app.state.key_verifier
    try:
        key = verifier.cached(token)
    except Unauthenticated:
        return None
    if key is None or not grants(key.scopes, scope) or not key.may_act_for(controller):
        return None
    request.state.api_key = key
    return key


async def _key_with_scope(request: Request, token: str | None, scope: str) -> VerifiedKey:
    if not token:
        raise Unauthenticated("an API key is required (Authorization: Bearer <key>, or X-API-Key: <key>)")
    verifier: KeyVerifier = request.app.state.key_verifier
    key = verifier.cached(token)
    if key is None:
        # One read per key when its cached row expires: the requests that miss together wait for the first
        # one's read instead of each taking a thread and a pooled connection for the same row.
        async with _load_lock(request, token):
            key = verifier.cached(token)
            if key is None:
                key = await run_in_threadpool(verifier.load, token)
    ensure_scope(key, scope)
    return key


KEY_LOAD_STRIPES = 64


def _load_lock(request: Request, token: str) -> anyio.Lock:
    """One of a fixed set of locks, chosen by the token's prefix (a bounded set, whatever tokens are sent)."""
    locks: list[anyio.Lock] | None = getattr(request.app.state, "key_load_locks", None)
    if locks is None:  # made on first use, inside the server's event loop
        locks = [anyio.Lock() for _ in range(KEY_LOAD_STRIPES)]
        request.app.state.key_load_locks = locks
    return locks[hash(token[:16]) % KEY_LOAD_STRIPES]


async def _authorise(request: Request, token: str | None, scope: str, controllers: list[str]) -> VerifiedKey:
    key = await _key_with_scope(request, token, scope)
    if not controllers:
        ensure_all_controllers(key)
    for controller_id in controllers:
        ensure_controller(key, controller_id)
    request.state.api_key = key
    return key


def require_scope(scope: str, *, controller_query: bool = False) -> Callable[..., Awaitable[VerifiedKey]]:
    """A dependency returning the request's API key, which must hold ``scope`` and act for the controller
    the request names (see the convention above)."""
    if controller_query:

        async def by_query(
            request: Request,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
            header_key: Annotated[str | None, Security(_api_key_header)],
            controller: Annotated[list[str] | None, Query(description="The controller the request acts for.")] = None,
        ) -> VerifiedKey:
            token = bearer.credentials if bearer is not None else header_key
            if not controller:
                await _key_with_scope(request, token, scope)  # 401/403 come before 422
                raise ValidationFailed("query parameter 'controller' is required: the controller this request is for")
            return await _authorise(request, token, scope, controller)

        dependency: Callable[..., Awaitable[VerifiedKey]] = by_query
    else:

        async def by_path(
            request: Request,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
            header_key: Annotated[str | None, Security(_api_key_header)],
        ) -> VerifiedKey:
            token = bearer.credentials if bearer is not None else header_key
            named = request.path_params.get(CONTROLLER_PATH_PARAM)
            return await _authorise(request, token, scope, [str(named)] if named is not None else [])

        dependency = by_path
    setattr(dependency, SCOPE_MARK, scope)
    setattr(dependency, CONTROLLER_QUERY_MARK, controller_query)
    dependency.__name__ = f"require_scope_{scope.replace(':', '_')}{'_by_query' if controller_query else ''}"
    return dependency


ConsentReader = Annotated[VerifiedKey, Depends(require_scope(CONSENT_READ))]
ConsentWriter = Annotated[VerifiedKey, Depends(require_scope(CONSENT_WRITE))]
Admin = Annotated[VerifiedKey, Depends(require_scope(ADMIN))]
ConsentQueryReader = Annotated[VerifiedKey, Depends(require_scope(CONSENT_READ, controller_query=True))]
ConsentQueryWriter = Annotated[VerifiedKey, Depends(require_scope(CONSENT_WRITE, controller_query=True))]
RequestsQueryReader = Annotated[VerifiedKey, Depends(require_scope(REQUESTS_READ, controller_query=True))]
RequestsQueryWriter = Annotated[VerifiedKey, Depends(require_scope(REQUESTS_WRITE, controller_query=True))]
DisclosuresQueryReader = Annotated[VerifiedKey, Depends(require_scope(DISCLOSURES_READ, controller_query=True))]


class WindowLimiter:
    """At most ``limit`` calls per ``window`` seconds per key, counted in fixed windows, in this process
    (for public routes: a cookie banner's choices, a rights request)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._counts: dict[str, int] = {}
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._started >= self.window:
                self._counts.clear()
                self._started = now
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            return count <= self.limit


def client_address(request: Request) -> str:
    """The calling address (what public routes count their rate limit by)."""
    return request.client.host if request.client else "unknown"


FastLane = Callable[[Request], Awaitable[Response | None]]


def fast_lane_route(lane: FastLane) -> type[APIRoute]:
    """A route class whose requests first go to ``lane``: an answer from it is sent as it is; None hands the
    request to the route as declared (its dependencies, validation, errors and response model).

    For a hot route whose usual request FastAPI's per-request machinery (solving the dependency tree,
    validating each query parameter, serialising through the response model) costs more than the work
    itself. The lane must answer only requests the declared route would answer 200 with the same body, and
    give every other request back (None): the route as declared stays the contract, in the OpenAPI document
    and for every error. Exceptions raised by the lane reach the app's handlers as the route's would.
    ``app.state.fast_lanes = False`` sends every request the declared way (to compare the two).
    """

    class FastLaneRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            declared = super().get_route_handler()

            async def handler(request: Request) -> Response:
                if getattr(request.app.state, "fast_lanes", True):
                    response = await lane(request)
                    if response is not None:
                        return response
                return await declared(request)

            return handler

    return FastLaneRoute
