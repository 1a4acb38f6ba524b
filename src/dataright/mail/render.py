"""The e-mail templates: their names, the context each one takes, and rendering in en / nb / sv.

Each template is a pair of Jinja2 files under ``templates/`` (``<name>.txt.j2`` and ``<name>.html.j2``, the
HTML one extending ``base.html.j2``) whose sentences are ``{% trans %}`` blocks of the ``mail`` catalog;
the subject line is a msgid here. ``check_context`` refuses an unknown template, a missing or unknown key,
a date that is not ISO 8601, and a request type or status the catalog cannot translate, so a bad call
fails when the message is enqueued, never later in the sender.

Dates arrive as ISO ``YYYY-MM-DD`` strings (a full ISO timestamp with a UTC offset is accepted too) and are
written in the language's long form (``2. desember 2026``, ``2 december 2026``, ``December 2, 2026``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from babel.dates import format_date, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dataright.declarations.catalogs import N_
from dataright.errors import ValidationFailed
from dataright.mail.i18n import CATALOG

LANGUAGES = ("en", "nb", "sv")
_BLANK_LINES = re.compile(r"\n{3,}")

REQUEST_TYPES: dict[str, str] = {
    "access": N_("access to your personal data"),
    "rectification": N_("correction of your personal data"),
    "erasure": N_("erasure of your personal data"),
    "restriction": N_("restriction of the processing of your personal data"),
    "portability": N_("a copy of your data to take elsewhere (data portability)"),
    "objection": N_("objection to the processing of your personal data"),
    "withdraw_consent": N_("withdrawal of your consent"),
}

REQUEST_STATUSES: dict[str, str] = {
    "received": N_("received, not yet verified"),
    "verified": N_("verified, not yet started"),
    "in_progress": N_("in progress"),
    "extended": N_("extended"),
    "overdue": N_("overdue"),
    "completed": N_("completed"),
    "denied": N_("denied"),
    "withdrawn": N_("withdrawn by the person"),
    "expired": N_("expired unverified"),
}

BREACH_CLOCKS: dict[str, str] = {
    "assessment": N_("assessing whether it must be notified"),
    "authority": N_("notifying the supervisory authority"),
    "individuals": N_("telling the people concerned"),
}

BREACH_CLOCK_STATES: dict[str, str] = {
    "running": N_("running"),
    "due_soon": N_("due within 24 hours"),
    "overdue": N_("overdue"),
}

DENIAL_REASONS: dict[str, str] = {
    "identity_not_verified": N_("We could not verify your identity."),
    "manifestly_unfounded": N_("The request is manifestly unfounded."),
    "excessive": N_("The request is excessive, in particular because it repeats earlier requests."),
    "legal_exemption": N_("A legal exemption applies to the data you asked for."),
}


@dataclass(frozen=True)
class ListSpec:
    """A context key holding a list of mappings, each with exactly these keys."""

    keys: tuple[str, ...]
    dates: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    choices: Mapping[str, Mapping[str, str]] | None = None
    """Keys whose value must be one of a closed list (translated in the template)."""


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    subject: str
    keys: tuple[str, ...]
    dates: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    """Keys that must be present but may be empty (``""`` or ``None``)."""
    request_types: tuple[str, ...] = ()
    lists: Mapping[str, ListSpec] | None = None


TEMPLATES: dict[str, TemplateSpec] = {
    spec.name: spec
    for spec in (
        TemplateSpec(
            name="request_verification",
            subject=N_("Confirm your request to %(controller)s"),
            keys=("controller_name", "request_reference", "code", "link", "expires_at"),
            dates=("expires_at",),
        ),
        TemplateSpec(
            name="request_received",
            subject=N_("We have received your request %(reference)s"),
            keys=(
                "controller_name",
                "request_reference",
                "request_type",
                "received_on",
                "deadline",
                "statutory_deadline",
                "promised_deadline",
            ),
            dates=("received_on", "deadline", "statutory_deadline", "promised_deadline"),
            optional=("promised_deadline",),
            request_types=("request_type",),
        ),
        TemplateSpec(
            name="request_extended",
            subject=N_("We need more time for your request %(reference)s"),
            keys=("controller_name", "request_reference", "new_deadline", "reason"),
            dates=("new_deadline",),
        ),
        TemplateSpec(
            name="request_completed",
            subject=N_("Your request %(reference)s has been completed"),
            keys=(
                "controller_name",
                "request_reference",
                "request_type",
                "download_link",
                "link_expires_at",
                "kept_items",
            ),
            dates=("link_expires_at",),
            optional=("download_link", "link_expires_at"),
            request_types=("request_type",),
            lists={"kept_items": ListSpec(keys=("what", "law", "until"), dates=("until",), optional=("until",))},
        ),
        TemplateSpec(
            name="request_denied",
            subject=N_("Our answer to your request %(reference)s"),
            keys=("controller_name", "request_reference", "reason", "note", "authority_name", "authority_url", "fee"),
            optional=("fee", "authority_url", "note"),
        ),
        TemplateSpec(
            name="request_expired",
            subject=N_("Your request %(reference)s has expired"),
            keys=("controller_name", "request_reference", "request_type", "received_on"),
            dates=("received_on",),
            request_types=("request_type",),
        ),
        TemplateSpec(
            name="request_reminder",
            subject=N_("Requests due soon at %(controller)s"),
            keys=("controller_name", "due"),
            lists={
                "due": ListSpec(
                    keys=("request_reference", "deadline", "status"), dates=("deadline",), statuses=("status",)
                )
            },
        ),
        TemplateSpec(
            name="breach_reminder",
            subject=N_("Breach deadlines due soon at %(controller)s"),
            keys=("controller_name", "clocks"),
            lists={
                "clocks": ListSpec(
                    keys=("breach_reference", "clock", "due", "state"),
                    dates=("due",),
                    choices={"clock": BREACH_CLOCKS, "state": BREACH_CLOCK_STATES},
                )
            },
        ),
        TemplateSpec(
            name="breach_notification",
            subject=N_("Important: a personal data breach at %(controller)s"),
            keys=(
                "controller_name",
                "breach_reference",
                "occurred_on",
                "description",
                "likely_consequences",
                "measures",
                "advice",
                "contact",
            ),
            dates=("occurred_on",),
            optional=("advice",),
        ),
    )
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _empty(value: Any) -> bool:
    return value is None or value == ""


def parse_when(value: str) -> date | datetime:
    """An ISO date (``YYYY-MM-DD``) or an ISO timestamp with a UTC offset."""
    if "T" in value:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a timestamp needs a UTC offset")
        return moment
    return date.fromisoformat(value)


def _check_value(where: str, key: str, value: Any, *, is_date: bool, optional: bool) -> None:
    if _empty(value):
        if not optional:
            raise ValidationFailed(f"{where}: context key {key!r} is empty; it needs a value")
        return
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationFailed(f"{where}: context key {key!r} must be text, not {type(value).__name__}")
    if is_date:
        try:
            parse_when(str(value))
        except ValueError:
            raise ValidationFailed(
                f"{where}: context key {key!r} must be an ISO date YYYY-MM-DD (or a timestamp with a UTC offset)"
            ) from None


def _check_keys(where: str, given: Mapping[str, Any], expected: Sequence[str]) -> None:
    missing = [key for key in expected if key not in given]
    unknown = sorted(key for key in given if key not in expected)
    if missing:
        raise ValidationFailed(f"{where}: missing context key(s) {', '.join(missing)}; expected {', '.join(expected)}")
    if unknown:
        raise ValidationFailed(f"{where}: unknown context key(s) {', '.join(unknown)}; expected {', '.join(expected)}")


def spec_of(template: str) -> TemplateSpec:
    spec = TEMPLATES.get(template)
    if spec is None:
        raise ValidationFailed(f"unknown mail template {template!r}; known: {', '.join(sorted(TEMPLATES))}")
    return spec


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValidationFailed(f"unsupported mail language {language!r}; supported: {', '.join(LANGUAGES)}")
    return language


def check_context(template: str, context: Mapping[str, Any]) -> TemplateSpec:
    """The template's spec when ``context`` fits it; a ``ValidationFailed`` naming the key otherwise."""
    spec = spec_of(template)
    where = f"mail template {template}"
    _check_keys(where, context, spec.keys)
    lists = spec.lists or {}
    for key in spec.keys:
        value = context[key]
        if key in lists:
            item_spec = lists[key]
            if not isinstance(value, list | tuple):
                raise ValidationFailed(f"{where}: context key {key!r} must be a list")
            for index, item in enumerate(value):
                item_where = f"{where}: {key}[{index}]"
                if not isinstance(item, Mapping):
                    raise ValidationFailed(f"{item_where} must be a mapping with keys {', '.join(item_spec.keys)}")
                _check_keys(item_where, item, item_spec.keys)
                for item_key in item_spec.keys:
                    _check_value(
                        item_where,
                        item_key,
                        item[item_key],
                        is_date=item_key in item_spec.dates,
                        optional=item_key in item_spec.optional,
                    )
                    allowed = (item_spec.choices or {}).get(item_key)
                    if allowed is not None and item[item_key] not in allowed:
                        raise ValidationFailed(
                            f"{item_where}: unknown {item_key} {item[item_key]!r}; known: {', '.join(allowed)}"
                        )
                    if item_key in item_spec.statuses and item[item_key] not in REQUEST_STATUSES:
                        raise ValidationFailed(
                            f"{item_where}: unknown status {item[item_key]!r}; known: {', '.join(REQUEST_STATUSES)}"
                        )
            continue
        _check_value(where, key, value, is_date=key in spec.dates, optional=key in spec.optional)
        if key in spec.request_types and value not in REQUEST_TYPES:
            raise ValidationFailed(
                f"{where}: context key {key!r} is {value!r}, not a request type; known: {', '.join(REQUEST_TYPES)}"
            )
    return spec


def format_when(value: Any, lang: str) -> str:
    """An ISO date or timestamp in the language's long form; an empty value stays empty."""
    if _empty(value):
        return ""
    moment = parse_when(str(value))
    if isinstance(moment, datetime):
        offset = moment.strftime("%z")
        offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
        day = format_date(moment.date(), format="long", locale=lang)
        return f"{day} {format_time(moment, 'HH:mm', locale=lang)} ({offset})"
    return str(format_date(moment, format="long", locale=lang))


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("dataright.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    translations = CATALOG.translations(lang)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda value: format_when(value, lang)
    env.filters["request_type"] = lambda value: translations.gettext(REQUEST_TYPES[str(value)])
    env.filters["status"] = lambda value: translations.gettext(REQUEST_STATUSES[str(value)])
    env.filters["breach_clock"] = lambda value: translations.gettext(BREACH_CLOCKS[str(value)])
    env.filters["clock_state"] = lambda value: translations.gettext(BREACH_CLOCK_STATES[str(value)])
    env.filters["reason"] = lambda value: (
        translations.gettext(DENIAL_REASONS[str(value)]) if str(value) in DENIAL_REASONS else str(value)
    )
    return env


def render(template: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
    """Subject, plain text and HTML of ``template`` in ``language``; ``ValidationFailed`` on a bad context."""
    check_language(language)
    spec = check_context(template, context)
    env = environment(language)
    values = dict(context)
    subject = CATALOG.gettext(language, spec.subject) % {
        "controller": context["controller_name"],
        "reference": context.get("request_reference", context.get("breach_reference", "")),
    }
    text = _BLANK_LINES.sub("\n\n", env.get_template(f"{template}.txt.j2").render(values)).strip() + "\n"
    html = env.get_template(f"{template}.html.j2").render(values, subject=subject, lang=language)
    return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)
