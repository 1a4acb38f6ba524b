"""Sessions and keys of the web layer: routes that only read never commit; a key revoked in this process is
refused at once even though the server keeps verified keys for a few seconds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from dataright.access.service import revoke_key
from dataright.storage.engine import make_session_factory, session_scope
from fixtures.web import MakeKey

NEXALEARN = "nexalearn"


@pytest.fixture
def commits(app: FastAPI) -> Iterator[list[object]]:
    """Every commit of a session of the app."""
    committed: list[object] = []

    def count(session: object) -> None:
        committed.append(session)

    factory = app.state.session_factory
    event.listen(factory, "after_commit", count)
    yield committed
    event.remove(factory, "after_commit", count)


def test_routes_that_only_read_do_not_commit(client: TestClient, make_key: MakeKey, commits: list[object]) -> None:
    headers = {"Authorization": f"Bearer {make_key(scopes=['admin'], controllers=[NEXALEARN])}"}
    recorded = client.post(
        f"/api/v1/consent/events?controller={NEXALEARN}",
        json={"subject": {"email": f"reader.{uuid.uuid4().hex}@example.org"}, "purpose": "analytics", "kind": "given"},
        headers=headers,
    )
    assert recorded.status_code == 201, recorded.text
    assert commits != []  # a write commits
    commits.clear()
    subject, event_id = recorded.json()["subject_id"], recorded.json()["id"]
    for url in (
        f"/api/v1/consent/check?controller={NEXALEARN}&subject_id={subject}&purpose=analytics",
        f"/api/v1/consent/events/{event_id}?controller={NEXALEARN}",
        f"/api/v1/consent/subjects/{subject}/history?controller={NEXALEARN}",
        f"/api/v1/consent/subjects/{subject}/preferences?controller={NEXALEARN}",
        f"/api/v1/consent/subjects/{subject}/unsubscribe-link?controller={NEXALEARN}"
        "&topic=birthday-greetings&channel=email",
        f"/api/v1/controllers/{NEXALEARN}/audit",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{url}: {response.text}"
    assert commits == []


def test_a_key_revoked_in_this_process_is_refused_at_once_though_it_was_just_used(
    app: FastAPI, client: TestClient, make_key: MakeKey
) -> None:
    token = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    url = f"/api/v1/consent/check?controller={NEXALEARN}&subject_id={uuid.uuid4()}&purpose=analytics"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(url, headers=headers).status_code == 200
    assert client.get(url, headers=headers).status_code == 200  # answered from the server's key cache
    with session_scope(make_session_factory(app.state.engine)) as session:
        revoke_key(session, token.split("_")[1])
    refused = client.get(url, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


def test_requests_that_miss_the_key_cache_together_read_the_key_once(
    app: FastAPI, make_key: MakeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = make_key(scopes=["consent:read"], controllers=[NEXALEARN])
    verifier = app.state.key_verifier
    reads: list[str] = []
    real_load = verifier.load

    def counted(given: str) -> object:
        reads.append(given)
        return real_load(given)

    monkeypatch.setattr(verifier, "load", counted)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/consent/check?controller={NEXALEARN}&subject_id={uuid.uuid4()}&purpose=analytics"

    async def together() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            answers = await asyncio.gather(*(client.get(url, headers=headers) for _ in range(32)))
        return [a.status_code for a in answers]

    assert asyncio.run(together()) == [200] * 32
    assert reads == [token], "one read of the key row for 32 requests that found no cached key"
