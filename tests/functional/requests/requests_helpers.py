"""Builders shared by the requests tests: filing and verifying over HTTP, reading the mail outbox."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dataright.identity.crypto import decrypt
from dataright.mail import service as mail
from dataright.storage.engine import make_session_factory, session_scope

NEXALEARN = "nexalearn"
NESTIT = "nestit-group-ab"
PROVENDO = "provendo-as"
NESTPROS = "nestpros"
CODE = re.compile(r"\b(\d{6})\b")
LINK = re.compile(r"/v/([A-Za-z0-9_-]{20,})")


def email() -> str:
    return f"person.{uuid.uuid4().hex[:10]}@example.org"


@dataclass(frozen=True)
class Mail:
    template: str
    language: str
    subject: str
    text: str
    created_at: Any


def mails(app: FastAPI, controller: str, address: str, template: str | None = None) -> list[Mail]:
    """The outbox messages to ``address`` at ``controller``, decrypted, oldest first."""
    out: list[Mail] = []
    with session_scope(make_session_factory(app.state.engine), write=False) as session:
        for row in mail.sent_to(session, controller_id=controller, address=address):
            content = json.loads(decrypt(row.controller_id, mail._content_kind(row.id), row.content_ciphertext))
            if template is None or row.template == template:
                out.append(Mail(row.template, row.language, content["subject"], content["text"], row.created_at))
    return out


def file(client: TestClient, controller: str, kind: str, address: str, **more: Any) -> dict[str, Any]:
    response = client.post("/api/v1/requests", json={"controller": controller, "type": kind, "email": address, **more})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def code_for(app: FastAPI, controller: str, address: str) -> str:
    sent = mails(app, controller, address, "request_verification")
    assert sent, "no verification mail in the outbox"
    match = CODE.search(sent[-1].text)
    assert match is not None, sent[-1].text
    return match.group(1)


def file_and_verify(
    app: FastAPI, client: TestClient, controller: str, kind: str, address: str, **more: Any
) -> dict[str, Any]:
    filed = file(client, controller, kind, address, **more)
    answering = more.get("registered_with", controller)
    code = code_for(app, answering, address)
    response = client.post(f"/api/v1/requests/{filed['reference']}/verify", json={"code": code})
    assert response.status_code == 200, response.text
    return filed


def staff(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
