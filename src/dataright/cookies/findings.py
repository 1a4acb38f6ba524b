"""What a cookie scan found, compared with the declaration: pure functions, no browser, no database.

The scanner (``scanner.py``) turns a crawl into observations: every cookie and local-storage entry seen in
each phase (before any choice, after "reject all", after "accept all") and who set it. :func:`compare` turns
observations plus the controller's declared cookies into findings:

- ``undeclared`` (violation): a cookie or local-storage entry no declared name matches;
- ``before-consent`` (violation): a non-necessary one present before the visitor chose anything;
- ``after-reject`` (violation): a non-necessary one present after "reject all";
- ``banner-not-found`` (violation when the declaration has non-necessary cookies): the reject or accept
  button could not be clicked, so that phase saw no choice;
- ``never-seen`` (notice): a declared cookie the scan did not meet (it may live behind a login).

Declared names may be patterns: ``*`` stands for any run of characters (``_ga_*``, ``intercom-session-*``).
The category of an undeclared name is guessed from names the big providers set (:func:`guess`), and
:func:`draft_yaml` writes declaration entries for them, each marked ``# review``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

import yaml

from dataright.declarations.periods import Period
from dataright.declarations.schema import Cookie, CookieCategory


class Phase(StrEnum):
    before_choice = "before-choice"
    after_reject = "after-reject"
    after_accept = "after-accept"


class Storage(StrEnum):
    cookie = "cookie"
    local_storage = "localStorage"


class SetVia(StrEnum):
    http = "http"  # a Set-Cookie header; set_by is the response's URL
    script = "script"  # document.cookie or localStorage.setItem; set_by is the script's URL
    unknown = "unknown"


class Severity(StrEnum):
    violation = "violation"
    notice = "notice"


class Kind(StrEnum):
    undeclared = "undeclared"
    before_consent = "before-consent"
    after_reject = "after-reject"
    banner_not_found = "banner-not-found"
    never_seen = "never-seen"


@dataclass(frozen=True)
class Observation:
    """One cookie or local-storage entry as it stood after a page of one phase (values are never kept)."""

    phase: Phase
    storage: Storage
    name: str
    domain: str  # the cookie's domain, or the local-storage origin's host
    page: str  # the page after which it was first seen in this phase
    path: str = "/"
    expires: float | None = None  # Unix seconds; None for a session cookie or a local-storage entry
    seen_at: float = 0.0  # Unix seconds when it was first seen, to turn ``expires`` into a duration
    http_only: bool = False
    secure: bool = False
    same_site: str | None = None
    set_by: str | None = None
    set_via: SetVia = SetVia.unknown

    @property
    def lifetime_seconds(self) -> float | None:
        return None if self.expires is None else max(0.0, self.expires - self.seen_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": str(self.phase),
            "storage": str(self.storage),
            "name": self.name,
            "domain": self.domain,
            "path": self.path,
            "expires": self.expires,
            "duration": duration_of(self.lifetime_seconds),
            "http_only": self.http_only,
            "secure": self.secure,
            "same_site": self.same_site,
            "set_by": self.set_by,
            "set_via": str(self.set_via),
            "page": self.page,
        }


@dataclass(frozen=True)
class PhaseOutcome:
    """How one phase went: the pages it visited, whether its choice was made, what failed on the way."""

    phase: Phase
    pages: tuple[str, ...]
    choice_made: bool | None  # None in the phase before any choice
    errors: tuple[str, ...] = ()
    timed_out: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": str(self.phase),
            "pages": list(self.pages),
            "choice_made": self.choice_made,
            "errors": list(self.errors),
            "timed_out": self.timed_out,
        }


@dataclass(frozen=True)
class Finding:
    kind: Kind
    severity: Severity
    name: str
    message: str
    storage: Storage = Storage.cookie
    domain: str | None = None
    phases: tuple[Phase, ...] = ()
    category: CookieCategory | None = None
    category_guessed: bool = False
    declared_as: str | None = None  # the declared name (or pattern) it matched
    set_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "storage": str(self.storage),
            "name": self.name,
            "domain": self.domain,
            "phases": [str(p) for p in self.phases],
            "category": None if self.category is None else str(self.category),
            "category_guessed": self.category_guessed,
            "declared_as": self.declared_as,
            "set_by": self.set_by,
            "message": self.message,
        }


@dataclass(frozen=True)
class Report:
    url: str
    controller: str
    phases: tuple[PhaseOutcome, ...]
    observations: tuple[Observation, ...]
    findings: tuple[Finding, ...] = field(default=())

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.violation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "controller": self.controller,
            "phases": [
                {
                    **outcome.as_dict(),
                    "cookies": [
                        o.as_dict()
                        for o in self.observations
                        if o.phase == outcome.phase and o.storage == Storage.cookie
                    ],
                    "local_storage": [
                        o.as_dict()
                        for o in self.observations
                        if o.phase == outcome.phase and o.storage == Storage.local_storage
                    ],
                }
                for outcome in self.phases
            ],
            "findings": [f.as_dict() for f in self.findings],
            "violations": len(self.violations),
        }


# --------------------------------------------------------------------------------------------
# names and patterns
# --------------------------------------------------------------------------------------------
@cache
def _pattern(declared: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in declared.split("*")))


def name_matches(declared: str, name: str) -> bool:
    """Whether a seen ``name`` is the declared one; ``*`` in the declared name stands for any characters."""
    return _pattern(declared).fullmatch(name) is not None


def match_declared(name: str, declared: Sequence[Cookie]) -> Cookie | None:
    """The declared cookie ``name`` is: an exact name first, else the pattern with the most fixed characters."""
    for cookie in declared:
        if cookie.name == name:
            return cookie
    candidates = [c for c in declared if "*" in c.name and name_matches(c.name, name)]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (len(c.name.replace("*", "")), c.name))


@dataclass(frozen=True)
class KnownName:
    pattern: str
    provider: str
    category: CookieCategory
    purpose: str


_N = CookieCategory.strictly_necessary
_F = CookieCategory.functional
_P = CookieCategory.performance
_T = CookieCategory.targeting

# Names the big providers set, for guessing the category of an undeclared cookie. First match wins.
KNOWN_NAMES: tuple[KnownName, ...] = (
    KnownName("_ga", "Google Analytics", _P, "Distinguishes visitors for statistics."),
    KnownName("_ga_*", "Google Analytics", _P, "Keeps the state of a visit for statistics."),
    KnownName("_gid", "Google Analytics", _P, "Distinguishes visitors for statistics over a day."),
    KnownName("_gat*", "Google Analytics", _P, "Throttles the rate of statistics requests."),
    KnownName("__utm*", "Google Analytics", _P, "Collects statistics on visits (older Google Analytics)."),
    KnownName("_gcl_*", "Google Ads", _T, "Links conversions to the Google ad that led to them."),
    KnownName("IDE", "Google (DoubleClick)", _T, "Measures and personalises Google ads."),
    KnownName("test_cookie", "Google (DoubleClick)", _T, "Checks whether the browser accepts cookies for ads."),
    KnownName("_hj*", "Hotjar", _P, "Recognises visitors for behaviour analysis."),
    KnownName("_fbp", "Meta", _T, "Identifies the browser for Meta's advertising."),
    KnownName("_fbc", "Meta", _T, "Keeps the last Meta ad click for conversion measurement."),
    KnownName("fr", "Meta", _T, "Delivers and measures Meta ads."),
    KnownName("_uet*", "Microsoft Advertising", _T, "Links visits to Microsoft ads for conversion measurement."),
    KnownName("_clck", "Microsoft Clarity", _P, "Recognises visitors for behaviour analysis."),
    KnownName("_clsk", "Microsoft Clarity", _P, "Joins page views of one visit for behaviour analysis."),
    KnownName("li_*", "LinkedIn", _T, "Measures and personalises LinkedIn ads."),
    KnownName("bcookie", "LinkedIn", _T, "Identifies the browser for LinkedIn."),
    KnownName("_tt_*", "TikTok", _T, "Measures TikTok ads."),
    KnownName("_ttp", "TikTok", _T, "Measures and personalises TikTok ads."),
    KnownName("mp_*", "Mixpanel", _P, "Collects statistics on use."),
    KnownName("ajs_*", "Segment", _P, "Identifies visitors for analytics."),
    KnownName("intercom-*", "Intercom", _F, "Keeps the support chat between pages."),
    KnownName("__stripe_*", "Stripe", _N, "Fraud prevention during payment."),
    KnownName("cc_cookie", "vanilla-cookieconsent", _N, "Remembers the visitor's cookie choices."),
    KnownName("PHPSESSID", "the site", _N, "Keeps the visitor's session."),
    KnownName("JSESSIONID", "the site", _N, "Keeps the visitor's session."),
    KnownName("ASP.NET_SessionId", "the site", _N, "Keeps the visitor's session."),
    KnownName("sessionid", "the site", _N, "Keeps the visitor's session."),
    KnownName("csrftoken", "the site", _N, "Protects forms against cross-site request forgery."),
    KnownName("XSRF-TOKEN", "the site", _N, "Protects forms against cross-site request forgery."),
)


def guess(name: str) -> KnownName | None:
    """What a cookie of this name usually is, from the names the big providers set; None when unknown."""
    return next((k for k in KNOWN_NAMES if name_matches(k.pattern, name)), None)


# --------------------------------------------------------------------------------------------
# durations
# --------------------------------------------------------------------------------------------
def duration_of(seconds: float | None) -> str:
    """A lifetime in seconds as the declaration writes it: ``session`` or a rounded ISO 8601 period."""
    if seconds is None:
        return "session"
    days = seconds / 86400
    if days >= 360:
        return Period(years=max(1, round(days / 365.25))).iso()
    if days >= 28:
        return Period(months=max(1, round(days / 30.4375))).iso()
    if days >= 1:
        return Period(days=round(days)).iso()
    return Period(hours=max(1, round(seconds / 3600))).iso()


# --------------------------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Seen:
    """All observations of one (storage, name, domain) across the phases."""

    storage: Storage
    name: str
    domain: str
    phases: tuple[Phase, ...]
    set_by: str | None


def _group(observations: Iterable[Observation]) -> list[_Seen]:
    grouped: dict[tuple[Storage, str, str], list[Observation]] = {}
    for o in observations:
        grouped.setdefault((o.storage, o.name, o.domain), []).append(o)
    order = list(Phase)
    seen = []
    for (storage, name, domain), items in grouped.items():
        phases = tuple(sorted({o.phase for o in items}, key=order.index))
        set_by = next((o.set_by for o in items if o.set_by), None)
        seen.append(_Seen(storage, name, domain, phases, set_by))
    return sorted(seen, key=lambda s: (s.storage != Storage.cookie, s.name, s.domain))


def _what(seen: _Seen) -> str:
    noun = "cookie" if seen.storage == Storage.cookie else "local-storage entry"
    return f"{noun} {seen.name} ({seen.domain})"


def compare(
    observations: Iterable[Observation], declared: Sequence[Cookie], outcomes: Iterable[PhaseOutcome] = ()
) -> tuple[Finding, ...]:
    """The findings of a scan: its observations held against the controller's declared cookies."""
    findings: list[Finding] = []
    matched: set[str] = set()
    for seen in _group(observations):
        cookie = match_declared(seen.name, declared)
        base: dict[str, Any] = {
            "name": seen.name,
            "storage": seen.storage,
            "domain": seen.domain,
            "set_by": seen.set_by,
        }
        if cookie is not None:
            matched.add(cookie.name)
            category: CookieCategory | None = cookie.category
            guessed = False
            declared_as: str | None = cookie.name
        else:
            known = guess(seen.name)
            category = known.category if known else None
            guessed = True
            declared_as = None
            seen_in = ", ".join(str(p) for p in seen.phases)
            likely = f"; looks like {known.provider} ({known.category})" if known else ""
            findings.append(
                Finding(
                    kind=Kind.undeclared,
                    severity=Severity.violation,
                    phases=seen.phases,
                    category=category,
                    category_guessed=guessed,
                    message=f"{_what(seen)} is not declared (seen {seen_in}){likely}",
                    **base,
                )
            )
        if category is None or category == CookieCategory.strictly_necessary:
            continue
        label = f"{category}{' (guessed)' if guessed else ''}"
        for phase, kind, when in (
            (Phase.before_choice, Kind.before_consent, "before any choice"),
            (Phase.after_reject, Kind.after_reject, 'after "reject all"'),
        ):
            if phase in seen.phases:
                findings.append(
                    Finding(
                        kind=kind,
                        severity=Severity.violation,
                        phases=(phase,),
                        category=category,
                        category_guessed=guessed,
                        declared_as=declared_as,
                        message=f"{_what(seen)}, {label}, is set {when}",
                        **base,
                    )
                )
    needs_banner = any(c.category != CookieCategory.strictly_necessary for c in declared)
    for outcome in outcomes:
        if outcome.choice_made is False:
            choice = "reject all" if outcome.phase == Phase.after_reject else "accept all"
            where = outcome.pages[0] if outcome.pages else "the first page"
            findings.append(
                Finding(
                    kind=Kind.banner_not_found,
                    severity=Severity.violation if needs_banner else Severity.notice,
                    name=choice,
                    phases=(outcome.phase,),
                    message=f'the "{choice}" button was not found on {where}; this phase saw no choice',
                )
            )
    for cookie in declared:
        if cookie.name not in matched:
            findings.append(
                Finding(
                    kind=Kind.never_seen,
                    severity=Severity.notice,
                    name=cookie.name,
                    category=cookie.category,
                    declared_as=cookie.name,
                    message=f"declared cookie {cookie.name} ({cookie.provider}, {cookie.category}) was not seen",
                )
            )
    return tuple(findings)


# --------------------------------------------------------------------------------------------
# the draft
# --------------------------------------------------------------------------------------------
def _quoted(text: str) -> str:
    """A YAML scalar for ``text`` (quoted when plain would change its meaning)."""
    return yaml.safe_dump(text, default_flow_style=True, width=10_000).removesuffix("\n...\n").strip()


def draft_yaml(url: str, observations: Iterable[Observation], findings: Iterable[Finding], site_host: str) -> str:
    """Declaration entries for the undeclared cookies and local-storage entries, shaped like ``cookies.yaml``.

    Every guessed line carries ``# review``: the category comes from the name, the duration from the expiry
    seen (a local-storage entry has none and is drafted as ``session``), the provider from the setter.
    """
    undeclared = [f for f in findings if f.kind == Kind.undeclared]
    lifetimes: dict[tuple[str, str], float | None] = {}
    for o in observations:
        key = (o.name, o.domain)
        if key not in lifetimes or (o.lifetime_seconds or 0) > (lifetimes[key] or 0):
            lifetimes[key] = o.lifetime_seconds
    lines = [
        f"# Drafted by `dataright cookies scan {url}`: what the scan found undeclared.",
        "# Review every line marked `# review`, then move the entries into the declaration's cookies.yaml.",
        "cookies:",
    ]
    if not undeclared:
        lines[-1] = "cookies: []"
    for f in undeclared:
        known = guess(f.name)
        domain = f.domain or ""
        host = domain.lstrip(".")
        on_site = host == site_host or site_host.endswith("." + host) or host.endswith("." + site_host)
        first_party = on_site and (known is None or known.provider == "the site")
        provider = known.provider if known and known.provider != "the site" else (site_host if on_site else host)
        category = known.category if known else CookieCategory.targeting
        category_note = "guessed from the name" if known else "name not known: the strictest category until reviewed"
        duration = duration_of(lifetimes.get((f.name, domain)))
        where = "set by " + (f.set_by or "an unknown setter")
        if f.storage == Storage.local_storage:
            where = "a localStorage entry, " + where
        purpose = known.purpose if known else f"Not known yet ({where})."
        lines += [
            f"  - name: {_quoted(f.name)}  # {where}",
            f"    provider: {_quoted(provider)}  # review",
            f"    first_party: {'true' if first_party else 'false'}",
            f"    category: {category}  # review: {category_note}",
            f"    duration: {duration}  # review: "
            + ("from the expiry seen" if f.storage == Storage.cookie else "local storage has no expiry"),
            "    purpose:",
            f"      en: {_quoted(purpose)}  # review",
        ]
    return "\n".join(lines) + "\n"
