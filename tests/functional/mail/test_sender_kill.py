"""A sender killed mid-batch (SIGKILL) and started again: no message arrives twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dataright.config import Settings
from fixtures.db import TEST_SECRET
from fixtures.mail_db import (
    enqueue_verifications,
    factory,
    install,
    installed,
    mail_settings,
    outbox_db,
    outbox_engine,
    rows,
)
from fixtures.smtp import SmtpServer

__all__ = ["factory", "installed", "outbox_db", "outbox_engine"]  # fixtures used by name below

LEASE_SECONDS = 1.0
COMMAND = [sys.executable, "-c", "from dataright.cli.main import app; app()", "mail", "send", "--once", "--batch", "4"]


def _environment(url: str, smtp: SmtpServer) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATARIGHT_")}
    env.update(
        DATARIGHT_DATABASE_URL=url,
        DATARIGHT_SECRET_KEY=TEST_SECRET,
        DATARIGHT_SMTP_HOST=smtp.host,
        DATARIGHT_SMTP_PORT=str(smtp.port),
        DATARIGHT_MAIL_FROM="privacy@dataright.example",
        DATARIGHT_MAIL_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    return env


def _statuses(factory: sessionmaker[Session]) -> Counter[str]:
    return Counter(row.status for row in rows(factory).values())


@pytest.mark.slow
def test_a_sender_killed_mid_batch_and_restarted_sends_no_message_twice(
    factory: sessionmaker[Session],
    outbox_db: str,
    smtp_server: SmtpServer,
    installed: list[Settings],
    tmp_path: Path,
) -> None:
    install(installed, mail_settings(outbox_db, smtp_server))
    ids = enqueue_verifications(factory, 10)
    env = _environment(outbox_db, smtp_server)
    smtp_server.hold_after(3)  # the server keeps the 3rd message's DATA open: the sender waits for its reply

    first = subprocess.Popen(COMMAND, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert smtp_server.wait_until_held(), "the sender never reached its 3rd message"
    finally:
        first.kill()
        first.communicate(timeout=60)
    smtp_server.release()
    assert first.returncode == -9

    # Killed mid-batch: two sent, one cut off during DATA, one claimed but never handed over, six untouched.
    assert _statuses(factory) == Counter({"sent": 2, "sending": 1, "claimed": 1, "pending": 6})

    time.sleep(LEASE_SECONDS + 0.5)  # the dead sender's leases run out
    second = subprocess.run(COMMAND, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stderr  # one message needs a person's decision
    assert "sent 7 via 127.0.0.1" in second.stdout and "1 unknown" in second.stdout

    arrived = Counter(message["Message-ID"] for message in smtp_server.messages)
    assert max(arrived.values()) == 1, "a message arrived twice"
    final = rows(factory)
    assert set(arrived) == {row.message_id for row in final.values()} and len(final) == len(ids)
    assert _statuses(factory) == Counter({"sent": 9, "unknown": 1})
