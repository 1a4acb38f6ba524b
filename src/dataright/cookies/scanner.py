"""The cookie scanner: headless Chromium (Playwright) through a site, in three phases.

Each phase runs in a fresh browser context (no cookies, no storage) and crawls the site from the given URL,
following links on the same origin, up to ``max_pages`` pages and an equal share of the time budget:

1. ``before-choice``: the visitor chooses nothing;
2. ``after-reject``: on the first page the visitor clicks "reject all" (vanilla-cookieconsent's
   ``#cc-main [data-role="necessary"]``, or any selector given), then browses on;
3. ``after-accept``: the same with "accept all" (``#cc-main [data-role="all"]``).

After every page (once the network is quiet) it records each cookie of the context (name, domain, path,
expiry, HttpOnly, Secure, SameSite; never the value) and each local-storage entry of the page's origin (its
key), and who set it: the URL of the response whose ``Set-Cookie`` header carried it, or the URL of the
script that wrote ``document.cookie`` / called ``localStorage.setItem`` (an init script wraps both and hands
``new Error().stack`` back, whose first http(s) frame is the writer; an inline script shows as its page). The
last write of a name before it was first seen is taken as its setter.

Playwright is an optional dependency (``pip install 'dataright[scan]'``) and drives Debian's Chromium at
``settings.chromium``; it never downloads a browser of its own.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

from dataright.cookies.findings import (
    Observation,
    Phase,
    PhaseOutcome,
    Report,
    SetVia,
    Storage,
    compare,
)
from dataright.declarations.schema import Cookie
from dataright.errors import ConfigurationError, ValidationFailed

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, Response

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
REJECT_SELECTOR = '#cc-main [data-role="necessary"]'
ACCEPT_SELECTOR = '#cc-main [data-role="all"]'
PAGE_TIMEOUT = 15.0  # seconds one navigation may take at most
SETTLE_TIMEOUT = 3.0  # seconds to wait for the network to go quiet after a load or a click
QUIET = 0.5  # seconds without a request in flight that count as quiet
POLL = 0.05
BINDING = "__datarightRecordWrite"
# Links to files a browser downloads rather than shows: not pages, never followed.
_NOT_PAGES = re.compile(
    r"\.(pdf|zip|gz|tgz|rar|7z|exe|dmg|msi|docx?|xlsx?|pptx?|odt|ods|csv|mp3|mp4|mov|avi|webm|png|jpe?g|gif|svg|webp|ico)$",
    re.IGNORECASE,
)

# Wraps document.cookie's setter and localStorage.setItem; each write reports its name and call stack.
HOOK_SCRIPT = """
(() => {
  const report = (kind, name) => {
    try { window.__BINDING__(kind, String(name), String(new Error().stack || "")); } catch (e) {}
  };
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (cookie && cookie.set && cookie.configurable) {
    Object.defineProperty(Document.prototype, "cookie", {
      configurable: true,
      enumerable: cookie.enumerable,
      get() { return cookie.get.call(this); },
      set(value) {
        report("cookie", String(value).split(";")[0].split("=")[0].trim());
        return cookie.set.call(this, value);
      },
    });
  }
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    let local = false;
    try { local = this === window.localStorage; } catch (e) {}
    if (local) report("localStorage", key);
    return setItem.apply(this, arguments);
  };
})();
""".replace("__BINDING__", BINDING)

_FRAME_URL = re.compile(r"((?:https?|file)://[^\s()]+?)(?::\d+){1,2}\)?\s*$")


def script_from_stack(stack: str) -> str | None:
    """The URL of the outermost-but-first script frame of a V8 stack: the script that made the write.

    The first line is the message (``Error``); each further line is ``at fn (URL:line:col)`` or ``at
    URL:line:col``. Frames without an http(s) URL (the injected hook itself) are skipped.
    """
    for line in stack.splitlines()[1:]:
        match = _FRAME_URL.search(line.strip())
        if match:
            return match[1]
    return None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def check_url(url: str) -> str:
    """``url`` when it is an absolute http(s) address, else a ValidationFailed naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(f"URL {url!r}: expected an absolute http:// or https:// address")
    return url


@dataclass(frozen=True)
class ScanOptions:
    url: str
    chromium: Path = Path("/usr/bin/chromium")
    max_pages: int = 10
    timeout: float = 90.0  # seconds for the whole scan, shared equally by the three phases
    reject_selector: str = REJECT_SELECTOR
    accept_selector: str = ACCEPT_SELECTOR
    banner_wait: float = 5.0  # seconds to wait for the banner's button to show


OnPage = Callable[[Phase, str], None]


@dataclass
class _Write:
    via: SetVia
    url: str | None


@dataclass
class _Recorder:
    """Collects one phase's writes (in the order they happened) and its snapshots."""

    phase: Phase
    events: list[tuple[str, Any]] = field(default_factory=list)
    writes: dict[tuple[Storage, str], _Write] = field(default_factory=dict)
    observations: dict[tuple[Storage, str, str, str], Observation] = field(default_factory=dict)

    def on_response(self, response: Response) -> None:
        self.events.append(("http", response))

    def on_script_write(self, source: dict[str, Any], kind: str, name: str, stack: str) -> None:
        frame = source.get("frame")
        fallback = getattr(frame, "url", None)
        storage = Storage.cookie if kind == "cookie" else Storage.local_storage
        self.events.append(("script", (storage, name, script_from_stack(stack) or fallback)))

    def _resolve(self) -> None:
        """Turn the events so far into last-writer-wins setters."""
        events, self.events = self.events, []
        for kind, payload in events:
            if kind == "script":
                storage, name, url = payload
                self.writes[(storage, name)] = _Write(SetVia.script, url)
                continue
            for response in _with_redirects(payload):
                try:
                    headers = response.headers_array()
                except Exception:  # the response is gone (its page navigated on): nothing to read
                    continue
                for header in headers:
                    if header["name"].lower() == "set-cookie":
                        for line in header["value"].split("\n"):
                            name = line.split(";", 1)[0].split("=", 1)[0].strip()
                            if name:
                                self.writes[(Storage.cookie, name)] = _Write(SetVia.http, response.url)

    def snapshot(self, context: BrowserContext, page: Page) -> None:
        """Record what the context holds now; the writes are resolved after the reads, so that a write
        reported while they ran is known too."""
        now = time.time()
        url = page.url
        cookies = context.cookies()
        try:
            keys: list[str] = page.evaluate(
                "() => { const k = []; for (let i = 0; i < localStorage.length; i++) k.push(localStorage.key(i));"
                " return k; }"
            )
        except Exception:  # an opaque origin (about:blank, a sandboxed page) has no local storage to read
            keys = []
        self._resolve()
        for c in cookies:
            key = (Storage.cookie, c["name"], c["domain"], c["path"])
            if key in self.observations:
                continue
            expires = c["expires"]
            self.observations[key] = Observation(
                phase=self.phase,
                storage=Storage.cookie,
                name=c["name"],
                domain=c["domain"],
                path=c["path"],
                expires=None if expires is None or expires < 0 else float(expires),
                seen_at=now,
                http_only=bool(c["httpOnly"]),
                secure=bool(c["secure"]),
                same_site=c.get("sameSite"),
                page=url,
            )
        host = urlsplit(url).hostname or ""
        for name in keys:
            key = (Storage.local_storage, name, host, "/")
            if key not in self.observations:
                self.observations[key] = Observation(
                    phase=self.phase, storage=Storage.local_storage, name=name, domain=host, seen_at=now, page=url
                )
        for key, seen in self.observations.items():
            write = self.writes.get((seen.storage, seen.name))
            if seen.set_by is None and write is not None:
                self.observations[key] = replace(seen, set_by=write.url, set_via=write.via)


def _with_redirects(response: Response) -> list[Response]:
    """The response and those of the redirects that led to it (each may carry its own Set-Cookie)."""
    found = [response]
    request = response.request.redirected_from
    while request is not None:
        try:
            earlier = request.response()
        except Exception:
            earlier = None
        if earlier is not None:
            found.append(earlier)
        request = request.redirected_from
    return found


def _ms(seconds: float) -> float:
    return max(1.0, seconds * 1000)


@dataclass
class _Traffic:
    """The context's requests in flight, to tell when a page (or what a click started) has gone quiet."""

    in_flight: set[Request] = field(default_factory=set)
    last_change: float = field(default_factory=time.monotonic)

    def started(self, request: Request) -> None:
        self.in_flight.add(request)
        self.last_change = time.monotonic()

    def ended(self, request: Request) -> None:
        self.in_flight.discard(request)
        self.last_change = time.monotonic()

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self.started)
        context.on("requestfinished", self.ended)
        context.on("requestfailed", self.ended)


def _settle(page: Page, traffic: _Traffic, deadline: float) -> None:
    """Wait until no request has been in flight for ``QUIET`` seconds (at most ``SETTLE_TIMEOUT``): scripts a
    load or a click started have then run. A page that keeps the network busy is taken as it is."""
    from playwright.sync_api import Error as PlaywrightError

    started = time.monotonic()
    end = min(deadline, started + SETTLE_TIMEOUT)
    while (now := time.monotonic()) < end:
        if not traffic.in_flight and now - max(traffic.last_change, started) >= QUIET:
            return
        try:
            page.wait_for_timeout(POLL * 1000)  # lets Playwright deliver the request events meanwhile
        except PlaywrightError:
            return


def _choose(page: Page, selector: str, wait: float, deadline: float) -> bool:
    """Click the banner's button; False when it does not show in time."""
    from playwright.sync_api import Error as PlaywrightError

    remaining = deadline - time.monotonic()
    button = page.locator(f"{selector} >> visible=true").first
    try:
        button.wait_for(state="visible", timeout=_ms(min(remaining, wait)))
        button.click(timeout=_ms(min(deadline - time.monotonic(), wait)))
    except PlaywrightError:
        return False
    return True


def _links(page: Page, origin: str) -> list[str]:
    from playwright.sync_api import Error as PlaywrightError

    try:
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    except PlaywrightError:
        return []
    links = []
    for href in hrefs:
        url = urldefrag(href).url
        if origin_of(url) == origin and not _NOT_PAGES.search(urlsplit(url).path):
            links.append(url)
    return links


def _is_html(response: Response | None) -> bool:
    if response is None:
        return True  # a same-document navigation: the page already shown
    kind = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml")


def _run_phase(
    browser: Browser, options: ScanOptions, phase: Phase, deadline: float, on_page: OnPage | None
) -> tuple[PhaseOutcome, list[Observation]]:
    from playwright.sync_api import Error as PlaywrightError

    selector = {Phase.after_reject: options.reject_selector, Phase.after_accept: options.accept_selector}.get(phase)
    context = browser.new_context(service_workers="block")
    recorder = _Recorder(phase)
    try:
        context.expose_binding(BINDING, recorder.on_script_write)
        context.add_init_script(HOOK_SCRIPT)
        context.on("response", recorder.on_response)
        traffic = _Traffic()
        traffic.attach(context)
        page = context.new_page()
        origin = origin_of(options.url)
        queue: deque[str] = deque([urldefrag(options.url).url])
        queued = set(queue)
        visited: list[str] = []
        errors: list[str] = []
        choice_made: bool | None = None
        timed_out = False
        while queue and len(visited) < options.max_pages:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            url = queue.popleft()
            try:
                response = page.goto(url, wait_until="load", timeout=_ms(min(remaining, PAGE_TIMEOUT)))
            except PlaywrightError as exc:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if not visited:
                    raise ValidationFailed(f"URL {options.url}: the page could not be loaded: {message}") from None
                errors.append(f"{url}: {message}")
                continue
            if not visited:
                origin = origin_of(page.url)  # where the first page landed after redirects (http -> https)
            visited.append(page.url)
            queued.add(page.url)
            _settle(page, traffic, deadline)
            if selector is not None and choice_made is None:
                choice_made = _choose(page, selector, options.banner_wait, deadline)
                _settle(page, traffic, deadline)
            recorder.snapshot(context, page)
            if on_page is not None:
                on_page(phase, page.url)
            if _is_html(response):
                for link in _links(page, origin):
                    if link not in queued:
                        queued.add(link)
                        queue.append(link)
        outcome = PhaseOutcome(phase, tuple(visited), choice_made, tuple(errors), timed_out)
        return outcome, list(recorder.observations.values())
    finally:
        context.close()


def crawl(options: ScanOptions, on_page: OnPage | None = None) -> tuple[list[PhaseOutcome], list[Observation]]:
    """Run the three phases; what each visited and everything it saw."""
    check_url(options.url)
    if options.max_pages < 1:
        raise ValidationFailed(f"--max-pages {options.max_pages}: expected at least 1")
    if options.timeout <= 0:
        raise ValidationFailed(f"--timeout {options.timeout}: expected a positive number of seconds")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "the cookie scanner needs Playwright: pip install 'dataright[scan]' (it drives Debian's Chromium; "
            "no browser is downloaded)"
        ) from None
    if not options.chromium.is_file():
        raise ConfigurationError(
            f"Chromium not found at {options.chromium}: install Debian's package (apt-get install chromium) "
            "or set DATARIGHT_CHROMIUM to its executable"
        )
    # Playwright's sync API refuses a thread with an asyncio loop running (an async caller, or another sync
    # Playwright session open in this thread): the browser is driven from a thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cookie-scan") as pool:
        return pool.submit(_crawl, options, on_page).result()


def _crawl(options: ScanOptions, on_page: OnPage | None) -> tuple[list[PhaseOutcome], list[Observation]]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    outcomes: list[PhaseOutcome] = []
    observations: list[Observation] = []
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(options.chromium), args=list(CHROMIUM_ARGS), headless=True
            )
        except PlaywrightError as exc:
            raise ConfigurationError(f"Chromium at {options.chromium} did not start: {exc}") from None
        try:
            phases = list(Phase)
            for index, phase in enumerate(phases):
                left = options.timeout - (time.monotonic() - started)
                deadline = time.monotonic() + max(0.0, left) / (len(phases) - index)
                outcome, seen = _run_phase(browser, options, phase, deadline, on_page)
                outcomes.append(outcome)
                observations.extend(seen)
        finally:
            browser.close()
    return outcomes, observations


def scan(options: ScanOptions, controller: str, declared: Sequence[Cookie], on_page: OnPage | None = None) -> Report:
    """Crawl the site and hold what it set against the controller's declared cookies."""
    outcomes, observations = crawl(options, on_page)
    findings = compare(observations, declared, outcomes)
    return Report(options.url, controller, tuple(outcomes), tuple(observations), findings)
