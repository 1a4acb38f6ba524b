"""The scanner against the real demo site of ``dataright serve --demo`` (``/demo/{controller}/`` with the real
banner): clean, it passes; with a planted cookie and a tracker that ignores the banner, it fails naming both.

The planting is done by a small proxy in front of the demo server: it passes every request through (the
banner's script and its cookie-consent calls included, so the browser sees one origin) and, on the demo page,
adds a ``Set-Cookie`` the declaration does not know and a ``<script src="/tracker.js">`` before the banner
that writes Google Ads' ``_gcl_au`` (declared, targeting) at once, whatever the visitor chooses.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dataright.cli.main import app
from fixtures.demo import DemoServer, require_browser

pytestmark = pytest.mark.browser

runner = CliRunner()
PLANTED = "dr_planted_id"
TRACKER_JS = 'document.cookie = "_gcl_au=1.1.1700000000; path=/; max-age=7776000";\n'
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


@pytest.fixture(scope="module", autouse=True)
def browser_available() -> None:
    """Debian's Chromium and the Playwright package, or a skip (a failure with DATARIGHT_REQUIRE_SERVICES=1).
    The scanner starts its own browser, in a thread of its own."""
    require_browser()


def _scan(url: str, controller: str, declarations: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    args = ["cookies", "scan", url, "--controller", controller, "--declarations", str(declarations)]
    result = runner.invoke(app, [*args, "--format", "json", *extra])
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, report, f"{result.stdout}{result.stderr}{result.exception!r}"


@pytest.fixture
def planted_demo(demo_server: DemoServer) -> Iterator[str]:
    """The demo site behind a proxy that plants an undeclared cookie and a tracker; its base URL."""

    class Proxy(BaseHTTPRequestHandler):
        def _pass(self) -> None:
            if self.path == "/tracker.js":
                self._send(200, [("Content-Type", "text/javascript")], TRACKER_JS.encode())
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
            upstream = httpx.request(
                self.command, demo_server.url(self.path), headers=headers, content=body, timeout=30.0
            )
            data = upstream.content
            out = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP]
            if self.path.startswith("/demo/") and upstream.headers.get("content-type", "").startswith("text/html"):
                data = data.replace(b"<head>", b'<head><script src="/tracker.js"></script>', 1)
                out.append(("Set-Cookie", f"{PLANTED}=7; Path=/; Max-Age=2592000"))
            self._send(upstream.status_code, out, data)

        def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._pass()

        def do_POST(self) -> None:
            self._pass()

        def do_OPTIONS(self) -> None:
            self._pass()

        def do_HEAD(self) -> None:
            self._pass()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("controller", "example"),
    [("nestit-group-ab", "nestit-group"), ("nexalearn", "nexalearn"), ("nestpros", "nestpros")],
)
def test_the_clean_demo_site_passes_the_scan(
    demo_server: DemoServer, examples_dir: Path, controller: str, example: str
) -> None:
    url = demo_server.url(f"/demo/{controller}/")
    code, report, output = _scan(url, controller, examples_dir / example, "--max-pages", "2")
    assert code == 0, output
    assert report["violations"] == 0
    assert [p["choice_made"] for p in report["phases"]] == [None, True, True]
    accepted = next(p for p in report["phases"] if p["phase"] == "after-accept")
    before = next(p for p in report["phases"] if p["phase"] == "before-choice")
    assert len(accepted["cookies"]) > len(before["cookies"]), "accepting all ran the marked scripts"


def test_a_planted_cookie_and_a_tracker_on_the_demo_site_are_reported_with_exit_1(
    planted_demo: str, examples_dir: Path
) -> None:
    url = f"{planted_demo}/demo/nestit-group-ab/"
    code, report, output = _scan(url, "nestit-group-ab", examples_dir / "nestit-group", "--max-pages", "2")
    assert code == 1, output
    found = {(f["kind"], f["name"]): f for f in report["findings"]}
    planted = found[("undeclared", PLANTED)]
    assert planted["severity"] == "violation"
    assert planted["set_by"] == url
    tracker = found[("before-consent", "_gcl_au")]
    assert (tracker["severity"], tracker["category"]) == ("violation", "targeting")
    assert tracker["set_by"] == f"{planted_demo}/tracker.js"
    assert [p["choice_made"] for p in report["phases"]] == [None, True, True], "the real banner was clicked"
