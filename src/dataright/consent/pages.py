"""One-click unsubscribe pages (RFC 8058), reached from links in e-mails without logging in.

``GET /u/{token}`` only shows a confirmation page: mail scanners fetch links, and a GET must not change
anything. ``POST /u/{token}`` records the withdrawal (or, for mail sent on legitimate interests, the
objection); mail clients send it with the body ``List-Unsubscribe=One-Click``, the page's button too.
Both are public: the signed token is the credential. The page speaks the language of the message
(carried in the link), else the person's browser language when the controller offers it.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from dataright.web.dependencies import ReadSession, Registry, Writer

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
    headers = {"Cache-Control": "no-store", "Content-Language": lang, "Vary": "Accept-Language"}
    return HTMLResponse(html, status_code=status, headers=headers)


def page_language(offered: Sequence[str], link: str | None, accept_language: str | None) -> str:
    """The language the page speaks: the message's own (carried in the link), else the first of the person's
    browser languages (``Accept-Language``, by q-value) the controller offers, else the controller's first."""
    usable = [lang for lang in offered if lang in TEXT] or ["en"]
    if link in usable:
        return link
    for wanted in _accepted(accept_language or ""):
        for lang in usable:
            if wanted == "*" or lang == wanted or lang.split("-")[0] == wanted.split("-")[0]:
                return lang
        if wanted in ("no", "nn") and "nb" in usable:  # Norwegian: Bokmål is what the catalogs hold
            return "nb"
    return usable[0]


def _accepted(header: str) -> list[str]:
    """``Accept-Language`` as language tags, best first (RFC 9110 12.5.4); q=0 means not wanted."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and quality > 0:
            weighted.append((-quality, index, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


def _resolve(token: str, registry: DeclarationRegistry, request: Request) -> tuple[Unsubscribe, dict[str, str]]:
    """The verified link and what the page shows about it; ``NotFound`` for a bad or stale link."""
    unsubscribe = service.unsubscribe_signer().verify(token)
    entry = registry.controller(unsubscribe.controller_id)
    topic = entry.declaration.topic_by_id.get(unsubscribe.topic_id)
    if topic is None:
        raise NotFound(f"topic {unsubscribe.topic_id!r} is no longer declared")
    lang = page_language(entry.controller.languages, unsubscribe.language, request.headers.get("accept-language"))
    names: dict[str, str] = {str(k): v for k, v in topic.name.items()}
    name = names.get(lang) or names.get(entry.controller.languages[0]) or next(iter(names.values()))
    return unsubscribe, {
        "lang": lang,
        "controller": entry.controller.name,
        "topic": name,
        "channel": unsubscribe.channel.value,
    }


def _invalid_page(request: Request) -> HTMLResponse:
    lang = page_language(list(TEXT), None, request.headers.get("accept-language"))
    return _page("invalid", {"lang": lang}, status=404)


@router.get("/u/{token}", response_class=HTMLResponse, responses=INVALID_LINK)
def confirm_page(token: str, request: Request, session: ReadSession, registry: Registry) -> HTMLResponse:
    """A confirmation page with an unsubscribe button, or word that the person is already unsubscribed;
    nothing is recorded (mail scanners fetch links)."""
    try:
        unsubscribe, shown = _resolve(token, registry, request)
        declaration = registry.controller(unsubscribe.controller_id).declaration
        already = service.is_unsubscribed(session, declaration=declaration, request=unsubscribe)
    except NotFound:
        return _invalid_page(request)
    if already:
        return _page("already", shown)
    return _page("confirm", shown, action=f"/u/{token}")


@router.post("/u/{token}", response_class=HTMLResponse, responses=INVALID_LINK)
async def one_click(token: str, request: Request, writer: Writer, registry: Registry) -> HTMLResponse:
    """Record the unsubscribe (RFC 8058 one-click); repeating it records nothing more."""
    try:
        unsubscribe, shown = _resolve(token, registry, request)
    except NotFound:
        return _invalid_page(request)
    declaration = registry.controller(unsubscribe.controller_id).declaration
    proof = proof_of(request, None)

    def work(session: Session) -> ConsentEvent | None:
        return service.unsubscribe(session, declaration=declaration, request=unsubscribe, proof=proof)

    try:
        event = await writer(work)
    except NotFound:  # the person was erased since the message was sent
        return _invalid_page(request)
    return _page("done" if event is not None else "already", shown)
