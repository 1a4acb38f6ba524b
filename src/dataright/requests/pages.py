"""The magic link of a request's verification e-mail: ``GET /v/{token}`` shows a confirmation button (mail
scanners fetch links, and a GET must not change anything); ``POST /v/{token}`` confirms the request. Both are
public: the link's random token is the credential. The page speaks the request's language.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from dataright.errors import NotFound
from dataright.requests import intake
from dataright.requests.api import _limit, problem_for, try_verification
from dataright.storage.engine import session_scope
from dataright.web.dependencies import Registry, Writer

router = APIRouter(tags=["requests"])

INVALID_LINK: dict[int | str, dict[str, Any]] = {
    404: {"description": "The link is not valid (or no longer).", "content": {"text/html": {}}},
    409: {"description": "The link was used already.", "content": {"text/html": {}}},
    410: {"description": "The link has expired.", "content": {"text/html": {}}},
    423: {"description": "A newer code or link replaced this one.", "content": {"text/html": {}}},
    429: {"description": "Too many calls from one address.", "content": {"application/problem+json": {}}},
}

_templates = Environment(loader=PackageLoader("dataright.web", "templates"), autoescape=select_autoescape(default=True))

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Confirm your request",
        "question": "Confirm that you made this request, so that we can start on it.",
        "button": "Confirm",
        "done": "Thank you: your request is confirmed. We will answer by e-mail.",
        "invalid": "This link is not valid, has expired or was used already. Ask for a new code.",
    },
    "nb": {
        "title": "Bekreft forespørselen din",
        "question": "Bekreft at det var du som sendte denne forespørselen, så kan vi begynne på den.",
        "button": "Bekreft",
        "done": "Takk: forespørselen din er bekreftet. Vi svarer på e-post.",
        "invalid": "Denne lenken er ikke gyldig, er utløpt eller er allerede brukt. Be om en ny kode.",
    },
    "sv": {
        "title": "Bekräfta din begäran",
        "question": "Bekräfta att det var du som skickade den här begäran, så att vi kan börja med den.",
        "button": "Bekräfta",
        "done": "Tack: din begäran är bekräftad. Vi svarar via e-post.",
        "invalid": "Den här länken är inte giltig, har gått ut eller har redan använts. Be om en ny kod.",
    },
}


def _page(state: str, *, lang: str = "en", status: int = 200, **shown: str) -> HTMLResponse:
    text = TEXT.get(lang, TEXT["en"])
    html = _templates.get_template("requests/verify.html").render(state=state, text=text, lang=lang, **shown)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/v/{token}", response_class=HTMLResponse, responses=INVALID_LINK)
def confirm_page(token: str, request: Request, registry: Registry) -> HTMLResponse:
    """A page with a confirm button; nothing changes until it is pressed."""
    with session_scope(request.app.state.session_factory, write=False) as session:
        try:
            found, _ = intake.request_of_link(session, token)
        except NotFound:
            return _page("invalid", status=404)
        controller = registry.controller(found.controller_id).controller.name
        return _page(
            "confirm", lang=found.language, action=f"/v/{token}", reference=found.reference, controller=controller
        )


@router.post("/v/{token}", response_class=HTMLResponse, responses=INVALID_LINK)
async def confirm(token: str, request: Request, registry: Registry, writer: Writer) -> HTMLResponse:
    """Confirm the request the link was sent for."""
    _limit(request)
    try:
        attempt = await writer(lambda session: try_verification(session, registry, "", token, link=True))
    except NotFound:
        return _page("invalid", status=404)
    error = problem_for(attempt)
    if error is not None:
        return _page("invalid", lang=attempt.language, status=error.status)
    return _page("done", lang=attempt.language, reference=attempt.answer.reference)
