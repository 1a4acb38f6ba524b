"""The server's audit sealer: chains newly appended entries every few seconds and publishes signed heads.

Runs in a thread of its own with its own sessions, so it never holds a request's thread or transaction.
Several server processes may each run one: sealing takes a lock and skips its turn when another sealer
holds it, and sealing what is sealed changes nothing. A head is written to ``audit_head_file`` (replaced
atomically) and/or POSTed as JSON to ``audit_head_url`` every ``audit_head_interval`` seconds and when the
server stops; a failure to publish is logged and tried again next time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

from dataright.audit.service import SignedHead, current_head, seal_pending
from dataright.storage.engine import make_session_factory, session_scope

logger = logging.getLogger("dataright.audit")
PUBLISH_TIMEOUT = 5.0


def write_head_file(path: Path, head: SignedHead) -> None:
    """Replace ``path`` with ``head`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(head.dumps())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def post_head(url: str, head: SignedHead) -> None:
    request = urllib.request.Request(
        url, data=head.dumps().encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=PUBLISH_TIMEOUT) as response:
        response.read()


class AuditSealer:
    """``start()`` a thread that seals every ``interval`` seconds and publishes a head every ``head_interval``."""

    def __init__(
        self,
        engine: Engine,
        *,
        head_key: bytes,
        interval: float = 1.0,
        head_file: Path | None = None,
        head_url: str | None = None,
        head_interval: float = 60.0,
    ) -> None:
        self._new_session = partial(session_scope, make_session_factory(engine))
        self.head_key, self.interval = head_key, interval
        self.head_file, self.head_url, self.head_interval = head_file, head_url, head_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def seal_once(self) -> int:
        return seal_pending(self._new_session, wait=False)

    def publish_head(self) -> SignedHead | None:
        """Seal, then write / post the signed head where the settings say; None when nowhere is configured."""
        if self.head_file is None and self.head_url is None:
            return None
        seal_pending(self._new_session, wait=True)
        with self._new_session(write=False) as session:
            head = current_head(session, self.head_key)
        if self.head_file is not None:
            write_head_file(self.head_file, head)
        if self.head_url is not None:
            post_head(self.head_url, head)
        return head

    def _run(self) -> None:
        next_head = time.monotonic()  # the first head right after start
        while not self._stop.wait(self.interval):
            try:
                self.seal_once()
                if time.monotonic() >= next_head:
                    next_head = time.monotonic() + self.head_interval
                    self.publish_head()
            except Exception:
                logger.exception("audit sealer: this round failed; trying again in %s s", self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dataright-audit-sealer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then seal and publish once more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.seal_once()
            self.publish_head()
        except Exception:
            logger.exception("audit sealer: the last round failed")
