"""What the doors (API, CLI) call when a rights request's work starts: the engine's job, in the same transaction.

The requests domain does not know about jobs (the dependency rule); the web app hands ``start_work`` to the
requests API as a dependency (``web.dependencies.WorkStarter``) and the CLI calls it directly, right after
``requests.service.start`` in the same session. The job row is written in that transaction, so it exists
exactly when the request is in progress: a transaction that rolls back leaves neither, and the runners are
woken only after the commit (``jobs.service``). The ``requests.fulfil_scan`` schedule stays as the safety
net for requests started some other way.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from dataright.jobs.service import enqueue
from dataright.jobs.tasks import FULFIL, fulfil_key
from dataright.requests import service as requests
from dataright.requests.models import RightsRequest


def start_work(session: Session, request: RightsRequest, *, actor: str) -> uuid.UUID | None:
    """Enqueue the engine's run for ``request`` when the engine has work for it (an erasure, rectification or
    restriction in progress with open datastore tasks); the job's id, or None when there is nothing to run."""
    if not requests.awaits_engine(session, request):
        return None
    return enqueue(session, FULFIL, {"request_id": str(request.id)}, dedupe_key=fulfil_key(request.id), actor=actor)
