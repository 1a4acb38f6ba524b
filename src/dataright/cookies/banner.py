"""The cookie banner's configuration, generated from the declaration (never kept by hand).

``banner_config(declaration, controller_id)`` builds the options of vanilla-cookieconsent 3.x
(``CookieConsent.run(...)``) and what dataright's glue (``banner.js``) adds around it:

* **categories**: strictly necessary (read-only, always on) and every other category the controller declares
  cookies in, none of them preselected; each category's cookies are cleared when it is withdrawn;
* **texts** in every language the controller publishes in (the ``banner`` catalog, ``texts.py``), the cookie
  table of each category from the declaration (name, provider, duration, purpose), the purposes the category
  serves, and a link to the notice;
* **equal prominence**: "Accept all" and "Reject all" both in the first layer, styled alike
  (``equalWeightButtons``), "Customize cookies" beside them;
* **revision**: a hash of what the banner shows and does (the cookies, purposes, languages, notice link and
  ``cookie_banner`` block); a changed declaration changes it and the banner asks again;
* **expiry**: the shortest ``consent.lifetime`` of the purposes the banner's cookies serve (else 182 days);
* **Google Consent Mode v2** (only with ``cookie_banner.google_consent_mode``): which accepted category grants
  which signal; every signal starts denied.

``banner_script`` puts the vendored library, the configuration and the glue into the one script a site
embeds: ``<script src="https://dataright.example/banner/{controller}.js"></script>``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from dataright.cookies.texts import (
    ACCEPT_ALL,
    CLOSE,
    CONSENT_DESCRIPTION,
    CONSENT_TITLE,
    CUSTOMIZE,
    DURATION,
    GPC_HONOURED,
    INTRO_DESCRIPTION,
    INTRO_TITLE,
    MORE_DESCRIPTION,
    MORE_TITLE,
    NAME,
    NOTICE_LINK,
    PREFERENCES_TITLE,
    PROVIDER,
    PURPOSE,
    REJECT_ALL,
    SAVE,
    SERVICE_COUNTER,
    USED_FOR,
    BannerTexts,
    texts,
)
from dataright.declarations.notice.words import join, localized
from dataright.declarations.periods import Period
from dataright.declarations.schema import ConsentModeSignal, Cookie, CookieCategory, Declaration
from dataright.errors import NotFound

CATEGORY_ORDER: tuple[CookieCategory, ...] = (
    CookieCategory.strictly_necessary,
    CookieCategory.functional,
    CookieCategory.performance,
    CookieCategory.targeting,
)
# Categories the Global Privacy Control signal keeps off (the server opts them out the same way).
GPC_CATEGORIES: tuple[CookieCategory, ...] = (CookieCategory.targeting,)
DEFAULT_EXPIRY_DAYS = 182  # vanilla-cookieconsent's own default: six months
# Consent Mode signals set to denied by default (the four of Consent Mode v2).
DEFAULT_DENIED: tuple[ConsentModeSignal, ...] = (
    ConsentModeSignal.ad_storage,
    ConsentModeSignal.ad_user_data,
    ConsentModeSignal.ad_personalization,
    ConsentModeSignal.analytics_storage,
)
API_PATH = "/api/v1/cookie-consent"


def vendor_file(name: str) -> str:
    return resources.files("dataright.cookies").joinpath("vendor", name).read_text(encoding="utf-8")


@cache
def vendor_version() -> str:
    return vendor_file("VERSION").strip()


@cache
def _vendor_js() -> str:
    return vendor_file("cookieconsent.umd.js")


@cache
def _vendor_css() -> str:
    return vendor_file("cookieconsent.css")


@cache
def _glue_js() -> str:
    return resources.files("dataright.cookies").joinpath("banner.js").read_text(encoding="utf-8")


def _cookie_pattern(name: str) -> dict[str, str]:
    """How the glue finds a declared cookie to clear: by name, or by pattern for ``_ga_*``-style names."""
    if "*" in name:
        return {"regex": "^" + ".*".join(re.escape(part) for part in name.split("*")) + "$"}
    return {"name": name}


def _used_categories(cookies: tuple[Cookie, ...]) -> list[CookieCategory]:
    present = {c.category for c in cookies}
    return [c for c in CATEGORY_ORDER if c is CookieCategory.strictly_necessary or c in present]


def expiry_days(declaration: Declaration, controller_id: str) -> int:
    """Days a choice is kept: the shortest consent lifetime of the purposes the banner's cookies serve."""
    lifetimes: list[Period] = []
    for cookie in declaration.cookies_of(controller_id):
        purpose = declaration.purpose_by_id.get(cookie.consent_purpose or "")
        if purpose is not None and purpose.consent is not None and purpose.consent.lifetime is not None:
            lifetimes.append(purpose.consent.lifetime)
    if not lifetimes:
        return DEFAULT_EXPIRY_DAYS
    return max(1, int(min(p.approx_days() for p in lifetimes)))


def notice_url(declaration: Declaration, controller_id: str) -> str | None:
    controller = declaration.controller_by_id[controller_id]
    return declaration.cookie_banner.notice_url or controller.website or controller.contact.url


def revision_of(declaration: Declaration, controller_id: str) -> str:
    """A short hash of everything the banner shows or does for this controller; it changes with the declaration."""
    if controller_id not in declaration.controller_by_id:
        raise NotFound(f"no loaded declaration has a controller {controller_id!r}")
    controller = declaration.controller_by_id[controller_id]
    cookies = declaration.cookies_of(controller_id)
    purposes = sorted({c.consent_purpose for c in cookies if c.consent_purpose})
    relevant = {
        "controller": controller_id,
        "languages": list(controller.languages),
        "cookies": [c.model_dump(mode="json") for c in cookies],
        "purposes": {
            p: declaration.purpose_by_id[p].model_dump(mode="json", include={"name", "consent"}) for p in purposes
        },
        "notice": {"url": notice_url(declaration, controller_id), "version": declaration.notice.version},
        "banner": declaration.cookie_banner.model_dump(mode="json"),
        "expiry_days": expiry_days(declaration, controller_id),
    }
    canonical = json.dumps(relevant, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]


def _table(t: BannerTexts, cookies: list[Cookie], lang: str) -> dict[str, Any]:
    return {
        "headers": {"name": t._(NAME), "provider": t._(PROVIDER), "duration": t._(DURATION), "purpose": t._(PURPOSE)},
        "body": [
            {
                "name": html.escape(c.name),
                "provider": html.escape(c.provider),
                "duration": html.escape(t.duration(c.duration)),
                "purpose": html.escape(localized(c.purpose, lang)),
            }
            for c in cookies
        ],
    }


def _translation(
    declaration: Declaration, controller_id: str, lang: str, categories: list[CookieCategory]
) -> dict[str, Any]:
    t = texts(lang)
    cookies = declaration.cookies_of(controller_id)
    url = notice_url(declaration, controller_id)
    link = (
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(t._(NOTICE_LINK))}</a>'
        if url
        else ""
    )
    sections: list[dict[str, Any]] = [{"title": t._(INTRO_TITLE), "description": t._(INTRO_DESCRIPTION)}]
    for category in categories:
        in_category = [c for c in cookies if c.category is category]
        description = html.escape(t.category_description(category))
        purpose_names = [
            localized(declaration.purpose_by_id[p].name, lang)
            for p in dict.fromkeys(c.consent_purpose for c in in_category if c.consent_purpose)
            if p in declaration.purpose_by_id
        ]
        if purpose_names:
            description += f"<br>{html.escape(t._(USED_FOR))} {html.escape(join(purpose_names, lang))}"
        section: dict[str, Any] = {
            "title": t.category_title(category),
            "description": description,
            "linkedCategory": str(category),
        }
        if in_category:
            section["cookieTable"] = _table(t, in_category, lang)
        sections.append(section)
    if link:
        sections.append({"title": t._(MORE_TITLE), "description": f"{html.escape(t._(MORE_DESCRIPTION))} {link}"})
    return {
        "consentModal": {
            "title": t._(CONSENT_TITLE),
            "description": html.escape(t._(CONSENT_DESCRIPTION)),
            "acceptAllBtn": t._(ACCEPT_ALL),
            "acceptNecessaryBtn": t._(REJECT_ALL),
            "showPreferencesBtn": t._(CUSTOMIZE),
            "footer": link,
        },
        "preferencesModal": {
            "title": t._(PREFERENCES_TITLE),
            "acceptAllBtn": t._(ACCEPT_ALL),
            "acceptNecessaryBtn": t._(REJECT_ALL),
            "savePreferencesBtn": t._(SAVE),
            "closeIconLabel": t._(CLOSE),
            "serviceCounterLabel": t._(SERVICE_COUNTER),
            "sections": sections,
        },
    }


@dataclass(frozen=True)
class BannerConfig:
    controller: str
    revision: str
    languages: tuple[str, ...]
    options: dict[str, Any]
    """What ``banner.js`` reads: the vanilla-cookieconsent options under ``cookieconsent``, with the glue's own."""


def banner_config(declaration: Declaration, controller_id: str) -> BannerConfig:
    """The banner for ``controller_id``; ``NotFound`` when the declaration has no such controller."""
    controller = declaration.controller_by_id.get(controller_id)
    if controller is None:
        raise NotFound(f"no loaded declaration has a controller {controller_id!r}")
    cookies = declaration.cookies_of(controller_id)
    categories = _used_categories(cookies)
    revision = revision_of(declaration, controller_id)
    languages = tuple(controller.languages)
    banner = declaration.cookie_banner
    cc_categories: dict[str, Any] = {}
    for category in categories:
        entry: dict[str, Any] = {"enabled": category is CookieCategory.strictly_necessary}
        if category is CookieCategory.strictly_necessary:
            entry["readOnly"] = True
        else:
            clear = [_cookie_pattern(c.name) for c in cookies if c.category is category]
            if clear:
                entry["autoClear"] = {"cookies": clear, "reloadPage": False}
        cc_categories[str(category)] = entry
    cookieconsent: dict[str, Any] = {
        "mode": "opt-in",
        "revision": int(revision, 16),
        "autoShow": True,
        "hideFromBots": False,  # the cookie scanner and the browser tests are automated browsers too
        "disablePageInteraction": False,
        "manageScriptTags": True,
        "autoClearCookies": True,
        "cookie": {"name": banner.cookie_name, "expiresAfterDays": expiry_days(declaration, controller_id)},
        "guiOptions": {
            "consentModal": {
                "layout": "box wide",
                "position": "bottom center",
                "equalWeightButtons": True,
                "flipButtons": False,
            },
            "preferencesModal": {"layout": "box", "equalWeightButtons": True, "flipButtons": False},
        },
        "categories": cc_categories,
        "language": {
            "default": languages[0],
            "autoDetect": "document",
            "translations": {lang: _translation(declaration, controller_id, lang, categories) for lang in languages},
        },
    }
    consent_mode: dict[str, list[str]] | None = None
    if banner.google_consent_mode:
        mapping = banner.signals()
        consent_mode = {str(c): [str(s) for s in mapping.get(c, ())] for c in categories if mapping.get(c)}
    denied = list(dict.fromkeys([*DEFAULT_DENIED, *(s for signals in (consent_mode or {}).values() for s in signals)]))
    options = {
        "controller": controller_id,
        "revision": revision,
        "api": API_PATH,
        "noticeVersion": declaration.notice.version,
        "categories": [str(c) for c in categories],
        "gpcCategories": [str(c) for c in GPC_CATEGORIES if c in categories],
        "gpcNotice": {lang: texts(lang)._(GPC_HONOURED) for lang in languages},
        "consentMode": {"signals": consent_mode, "denied": [str(s) for s in denied]}
        if consent_mode is not None
        else None,
        "cookieconsent": cookieconsent,
    }
    return BannerConfig(controller=controller_id, revision=revision, languages=languages, options=options)


def banner_script(config: BannerConfig) -> str:
    """The one script a site embeds: the library, then the configuration, then the glue that runs it."""
    data = json.dumps(config.options, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return (
        f"/* dataright cookie banner for {config.controller}, revision {config.revision}; "
        f"vanilla-cookieconsent {vendor_version()} (MIT, see /banner/LICENSE) */\n"
        f"window.__datarightBanner={data};\n"
        f"{_glue_js()}\n{_vendor_js()}\n"
        "window.__datarightBannerRun&&window.__datarightBannerRun();\n"
    )


def banner_css() -> str:
    return _vendor_css()
