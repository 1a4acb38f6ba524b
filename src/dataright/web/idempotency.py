"""``Idempotency-Key`` on every write route under ``/api/v1`` (as in Stripe's API): safe retries.

A client may send ``Idempotency-Key: <1-255 visible ASCII characters>`` with any POST, PUT, PATCH or
DELETE. The first request with the key runs; its answer (status and body) is kept with the key in the same
transaction as the write. Within ``KEY_LIFETIME`` (24 hours):

* the same key with the same request (method, path, query and body) gets the first answer again, with
  ``Idempotent-Replayed: true``, and writes nothing;
* the same key with a different request: 422 problem (``idempotency-key-reused``);
* the same key while the first request is still running: 409 problem (``idempotency-key-in-flight``).

A request that fails keeps no key: its retry runs afresh. Keys are scoped: to the API key and the controller
the request acts for, and on the public cookie-consent route to the controller and the device, so two
clients choosing the same key never see each other's answers.

A write route opts in by taking ``writer: IdempotentWrite`` (placed after its key parameter) and handing its
work to it, ``return await writer(work)``: a ``web.dependencies.Writer`` that, in the one transaction and
worker thread the write runs in, claims the key first (a retry is answered from the stored answer and the
work never runs) and keeps the answer (the route's status and the work's result as JSON) before the commit.
``create_app`` refuses to start when a write route under ``/api/v1`` lacks it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dataright.idempotency import service
from dataright.idempotency.service import Answer, IdempotencyKeyInFlight
from dataright.identity.service import device_hash
from dataright.web.dependencies import WriteGate

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
GUARD_MARK = "__dataright_idempotency__"
_STATE = "idempotency_claim"

__all__ = ["HEADER", "IdempotentWrite", "IdempotentWriter", "InFlight", "install", "needs_idempotency"]
T = TypeVar("T")


def needs_idempotency(method: str, path: str) -> bool:
    return method in WRITE_METHODS and path.startswith(API_PREFIX)


class InFlight:
    """The keys whose first request is running in this process (released after its transaction ends)."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def enter(self, scope: str, key: str) -> bool:
        with self._lock:
            if (scope, key) in self._keys:
                return False
            self._keys.add((scope, key))
            return True

    def leave(self, scope: str, key: str) -> None:
        with self._lock:
            self._keys.discard((scope, key))


class Replay(Exception):
    """Raised by the guard to answer with the stored first answer instead of running the route."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("idempotent replay")
        self.answer = answer


@dataclass
class Claim:
    """The key a request holds while it runs (empty without an ``Idempotency-Key``)."""

    scope: str = ""
    key: str = ""
    fingerprint: str = ""


async def _held(request: Request) -> AsyncIterator[Claim]:
    """Reads the key and marks it in flight in this process, before the route's transaction begins (so a
    concurrent retry is answered 409 at once instead of waiting for the write lock); request-scoped: the mark
    is removed after the response is sent, so after the write's commit or rollback."""
    claim = Claim()
    raw = request.headers.get(HEADER)
    if raw is None:
        yield claim
        return
    claim.key = service.check_key(raw)
    body = await request.body()
    claim.scope = _scope_of(request, body)
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    claim.fingerprint = service.fingerprint(request.method, template, request.url.path, str(request.url.query), body)
    inflight: InFlight = request.app.state.idempotency_inflight
    if not inflight.enter(claim.scope, claim.key):
        raise IdempotencyKeyInFlight(
            "header Idempotency-Key: the first request with this key has not finished; retry in a moment"
        )
    try:
        yield claim
    finally:
        inflight.leave(claim.scope, claim.key)


def _scope_of(request: Request, body: bytes) -> str:
    key = getattr(request.state, "api_key", None)
    if key is not None:
        controllers = request.query_params.getlist("controller") or [str(request.path_params.get("controller_id", "*"))]
        return f"key:{key.id}:{','.join(sorted(controllers))}"[:200]
    # a public route (the cookie banner): the controller and the anonymous device named in the body
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    controller = str(data.get("controller", "")) if isinstance(data, dict) else ""
    device = str(data.get("device_id", "")) if isinstance(data, dict) else ""
    return f"device:{controller[:80]}:{device_hash(device)}"


class IdempotentWriter:
    """A ``Writer`` that claims the request's ``Idempotency-Key`` and keeps its answer in the write's transaction."""

    def __init__(self, gate: WriteGate, claim: Claim, status: int) -> None:
        self.gate, self.claim, self.status = gate, claim, status

    async def __call__(self, work: Callable[[Session], T]) -> T:
        claim = self.claim
        if not claim.key:
            return await self.gate.run(work)

        def claimed(session: Session) -> T:
            answer = service.claim(session, scope=claim.scope, key=claim.key, fingerprint=claim.fingerprint)
            if answer is not None:
                raise Replay(answer)  # a retry: the transaction rolls back, nothing is written
            result = work(session)
            body = json.dumps(jsonable_encoder(result), ensure_ascii=False, separators=(",", ":")).encode()
            answer = Answer(self.status, "application/json", body)
            service.complete(session, scope=claim.scope, key=claim.key, answer=answer)
            return result

        return await self.gate.run(claimed)


def _look_up(request: Request, claim: Claim) -> Answer | None:
    session: Session = request.app.state.session_factory()
    try:
        return service.look_up(session, scope=claim.scope, key=claim.key, fingerprint=claim.fingerprint)
    finally:
        session.close()


async def idempotent_writer(request: Request, held: Annotated[Claim, Depends(_held)]) -> IdempotentWriter:
    """The route's writer, holding its ``Idempotency-Key`` (if it sent one) in flight in this process. A
    retry of a finished request is answered here, before the body is validated (a short read, no write)."""
    if held.key:
        answer = await run_in_threadpool(_look_up, request, held)
        if answer is not None:
            raise Replay(answer)
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    return IdempotentWriter(request.app.state.write_gate, held, int(status))


setattr(idempotent_writer, GUARD_MARK, True)
IdempotentWrite = Annotated[IdempotentWriter, Depends(idempotent_writer)]


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    answer = exc.answer
    headers = {REPLAYED_HEADER: "true"}
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type, headers=headers)


def install(app: FastAPI) -> None:
    app.state.idempotency_inflight = InFlight()
    app.add_exception_handler(Replay, _replay)
