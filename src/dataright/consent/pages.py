"""One-click unsubscribe pages (RFC 8058), reached from links in e-mails without logging in.

``GET /u/{token}`` only shows a confirmation page: mail scanners fetch links, and a GET must not change
anything. ``POST /u/{token}`` records the withdrawal (or, for mail sent on legitimate interests, the
objection); mail clients send it with the body ``List-Unsubscribe=One-Click``, the page's button too.
Both are public: the signed token is the credential. The page speaks the controller's first language.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from dataright.consent import service
from dataright.consent.api import proof_of
from dataright.consent.models import ConsentEvent
from dataright.consent.unsubscribe import Unsubscribe
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import NotFound
from dataright.web.dependencies import Registry, Writer

router = APIRouter(tags=["unsubscribe"])
INVALID_LINK: dict[int | str, dict[str, Any]] = {
    404: {"description": "The link is not valid (or no longer).", "content": {"text/html": {}}}
}

_templates = Environment(loader=PackageLoader("dataright.web", "templates"), autoescape=select_autoescape(default=True))

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Unsubscribe",
        "question": "Do you want to stop receiving these messages?",
        "button": "Unsubscribe",
        "done": "You are unsubscribed. You will not receive these messages any more.",
        "already": "You were already unsubscribed from these messages.",
        "invalid": "This unsubscribe link is not valid. Please use the link from the latest message.",
    },
    "nb": {
        "title": "Meld av",
        "question": "Vil du slutte å motta disse meldingene?",
        "button": "Meld meg av",
        "done": "Du er meldt av. Du vil ikke lenger motta disse meldingene.",
        "already": "Du var allerede meldt av disse meldingene.",
        "invalid": "Denne avmeldingslenken er ikke gyldig. Bruk lenken i den siste meldingen.",
    },
    "sv": {
        "title": "Avregistrera",
        "question": "Vill du sluta ta emot dessa meddelanden?",
        "button": "Avregistrera mig",
        "done": "Du är avregistrerad. Du kommer inte längre att få dessa meddelanden.",
        "already": "Du var redan avregistrerad från dessa meddelanden.",
        "invalid": "Den här avregistreringslänken är inte giltig. Använd länken i det senaste meddelandet.",
    },
}


def _page(state: str, shown: dict[str, str] | None = None, *, status: int = 200, action: str = "") -> HTMLResponse:
    values = dict(shown or {})
    lang = values.setdefault("lang", "en")
    text = TEXT.get(lang, TEXT["en"])
    html = _templates.get_template("consent/unsubscribe.html").render(state=state, text=text, action=action, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _resolve(token: str, registry: DeclarationRegistry) -> tuple[Unsubscribe, dict[str, str]]:
    """The verified request and what the page shows about it; ``NotFound`` for a bad or stale link."""
    request = service.unsubscribe_signer().verify(token)
    entry = registry.controller(request.controller_id)
    topic = entry.declaration.topic_by_id.get(request.topic_id)
    if topic is None:
        raise NotFound(f"topic {request.topic_id!r} is no longer declared")
    lang = entry.controller.languages[0]
    name = topic.name.get(lang) or topic.name.get("en") or next(iter(topic.name.values()))
    return request, {"lang": lang, "controller": entry.controller.name, "topic": name, "channel": request.channel.value}


@router.get("/u/{token}", response_class=HTMLResponse, responses=INVALID_LINK)
def confirm_page(token: str, registry: Registry) -> HTMLResponse:
    """A confirmation page with an unsubscribe button; nothing is recorded."""
    try:
        _, shown = _resolve(token, registry)
    except NotFound:
        return _page("invalid", status=404)
    return _page("confirm", shown, action=f"/u/{token}")


@router.post("/u/{token}", response_class=HTMLResponse, responses=INVALID_LINK)
async def one_click(token: str, request: Request, writer: Writer, registry: Registry) -> HTMLResponse:
    """Record the unsubscribe (RFC 8058 one-click); repeating it records nothing more."""
    try:
        unsubscribe, shown = _resolve(token, registry)
    except NotFound:
        return _page("invalid", status=404)
    declaration = registry.controller(unsubscribe.controller_id).declaration
    proof = proof_of(request, None)

    def work(session: Session) -> ConsentEvent | None:
        return service.unsubscribe(session, declaration=declaration, request=unsubscribe, proof=proof)

    event = await writer(work)
    return _page("done" if event is not None else "already", shown)
