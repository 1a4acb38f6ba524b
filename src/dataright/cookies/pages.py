"""The banner's public routes and the demo site.

* ``GET /banner/{controller}.js``: the one script a site embeds (the vendored vanilla-cookieconsent, the
  configuration generated from the declaration, dataright's glue), with a strong ``ETag`` and a short public
  cache lifetime, so a changed declaration reaches visitors within minutes and a revalidation costs a 304;
* ``GET /banner/{controller}.css``: the banner's stylesheet (the script links it itself);
* ``GET /demo/{controller}/``: a small site with the banner and marked scripts, served only in demo mode
  (``dataright serve --demo``; 404 otherwise). ``?lang=en`` shows it in another of the controller's languages.

All three are public: a site's visitors fetch them without a key. An unknown controller is a 404 problem.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from dataright.cookies.banner import BannerConfig, banner_config, banner_css, banner_script, notice_url
from dataright.cookies.texts import CUSTOMIZE, texts
from dataright.declarations.schema import CookieCategory, Declaration
from dataright.errors import NotFound
from dataright.web.dependencies import Registry
from dataright.web.openapi import problems

router = APIRouter(tags=["cookie banner"])
CACHE_CONTROL = "public, max-age=300"
_templates = Environment(loader=PackageLoader("dataright.web", "templates"), autoescape=select_autoescape(default=True))


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str
    media_type: str


def _asset(text: str, media_type: str) -> Asset:
    body = text.encode("utf-8")
    return Asset(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"', media_type=media_type)


def _cache(request: Request) -> dict[str, Any]:
    """Built once per controller and application (a declaration never changes while the app runs)."""
    cache: dict[str, Any] | None = getattr(request.app.state, "banner_cache", None)
    if cache is None:
        cache = {}
        request.app.state.banner_cache = cache
    return cache


def _config(request: Request, registry: Registry, controller: str) -> BannerConfig:
    cache = _cache(request)
    key = f"config:{controller}"
    if key not in cache:
        cache[key] = banner_config(registry.controller(controller).declaration, controller)
    config: BannerConfig = cache[key]
    return config


def _send(request: Request, asset: Asset) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": CACHE_CONTROL}
    wanted = request.headers.get("if-none-match", "")
    if asset.etag in {tag.strip() for tag in wanted.split(",")} or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified (the ETag matched)."}}


@router.get(
    "/banner/{controller}.js",
    response_class=Response,
    responses={
        200: {"content": {"text/javascript": {}}, "description": "The banner script."},
        **NOT_MODIFIED,
        **problems(404),
    },
)
def banner_js(controller: str, request: Request, registry: Registry) -> Response:
    """The cookie banner for ``controller``: embed it with one ``<script src=".../banner/{controller}.js">``."""
    cache = _cache(request)
    key = f"js:{controller}"
    if key not in cache:
        cache[key] = _asset(banner_script(_config(request, registry, controller)), "text/javascript; charset=utf-8")
    asset: Asset = cache[key]
    return _send(request, asset)


@router.get(
    "/banner/{controller}.css",
    response_class=Response,
    responses={
        200: {"content": {"text/css": {}}, "description": "The banner stylesheet."},
        **NOT_MODIFIED,
        **problems(404),
    },
)
def banner_stylesheet(controller: str, request: Request, registry: Registry) -> Response:
    """The banner's stylesheet (``banner.js`` adds it to the page itself)."""
    registry.controller(controller)  # NotFound for an unknown controller
    cache = _cache(request)
    if "css" not in cache:
        cache["css"] = _asset(banner_css(), "text/css; charset=utf-8")
    asset: Asset = cache["css"]
    return _send(request, asset)


# ------------------------------------------------------------------------------------------------
# the demo site
# ------------------------------------------------------------------------------------------------
def _demo_value(name: str) -> str:
    return name.replace("*", "demo")


def demo_cookies(declaration: Declaration, controller: str) -> dict[str, list[str]]:
    """The cookies each part of the demo page sets: its declared cookies, by category (``*`` made concrete).

    The banner's own cookie is left to the banner."""
    out: dict[str, list[str]] = {}
    for cookie in declaration.cookies_of(controller):
        if cookie.name == declaration.cookie_banner.cookie_name:
            continue
        out.setdefault(str(cookie.category), []).append(_demo_value(cookie.name))
    return out


@router.get("/demo/{controller}/", response_class=HTMLResponse, responses=problems(404))
def demo_site(controller: str, request: Request, registry: Registry, lang: str | None = None) -> HTMLResponse:
    """A demo site for ``controller`` with the banner and scripts marked by category (demo mode only)."""
    if not request.app.state.settings.demo:
        raise NotFound("the demo site is served in demo mode only (dataright serve --demo)")
    entry = registry.controller(controller)
    config = _config(request, registry, controller)
    language = lang if lang in entry.controller.languages else entry.controller.languages[0]
    cookies = demo_cookies(entry.declaration, controller)
    categories = [c for c in config.options["categories"] if c != CookieCategory.strictly_necessary]
    html = _templates.get_template("cookies/demo.html").render(
        lang=language,
        name=entry.controller.name,
        controller=controller,
        revision=config.revision,
        customize=texts(language)._(CUSTOMIZE),
        notice_url=notice_url(entry.declaration, controller),
        necessary=cookies.get(str(CookieCategory.strictly_necessary), []),
        marked=[(c, cookies.get(c, [])) for c in categories],
        languages=entry.controller.languages,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
