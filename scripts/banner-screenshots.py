#!/usr/bin/env python3
"""Screenshots of the cookie banner for the README: the first layer and the preferences, in English and Norwegian.

    python scripts/banner-screenshots.py [--out docs/img] [--controller nexalearn]

Starts ``dataright serve --demo`` on a free port with a throw-away database, opens the controller's demo site in
Debian's headless Chromium (``settings.chromium``, default /usr/bin/chromium) through Playwright, and writes
``banner-en.png``, ``banner-preferences-en.png``, ``banner-nb.png`` and ``banner-preferences-nb.png``
(900x600 each). Needs the test extra (``pip install -e '.[test]'``) for Playwright; no browser is downloaded.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from dataright.config import Settings
from dataright.cookies.scanner import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 900, "height": 600}
SETTLE_MS = 700  # the modals fade in


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATARIGHT_DATABASE_URL": f"sqlite:///{folder / 'dataright.sqlite3'}",
        "DATARIGHT_SECRET_KEY": secrets.token_urlsafe(32),
        "DATARIGHT_MAIL_DIR": str(folder / "mail"),
    }
    command = [sys.executable, "-m", "dataright.cli.main", "serve", "--demo", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"error: dataright serve --demo exited with {process.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    sys.exit("error: dataright serve --demo did not answer within 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNG files")
    parser.add_argument("--controller", default="nexalearn", help="whose demo site to photograph")
    parser.add_argument("--languages", default="en,nb", help="comma-separated languages of the controller")
    options = parser.parse_args()
    chromium = Settings().chromium
    if not chromium.is_file():
        sys.exit(f"error: no Chromium at {chromium}; install Debian's package: apt-get install chromium")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", options.controller):
        sys.exit(f"error: --controller {options.controller!r} is not a controller id")
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dataright-shots-") as scratch:
        process, base = start_server(Path(scratch))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
                for lang in options.languages.split(","):
                    context = browser.new_context(viewport=VIEWPORT)
                    page = context.new_page()
                    page.goto(f"{base}/demo/{options.controller}/?lang={lang}")
                    page.wait_for_selector("#cc-main .cm", state="visible")
                    page.wait_for_timeout(SETTLE_MS)
                    first = options.out / f"banner-{lang}.png"
                    page.screenshot(path=first)
                    page.click("#cc-main .cm [data-role='show']")
                    page.wait_for_selector("#cc-main .pm", state="visible")
                    page.wait_for_timeout(SETTLE_MS)
                    second = options.out / f"banner-preferences-{lang}.png"
                    page.screenshot(path=second)
                    context.close()
                    for shot in (first, second):
                        shown = shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot
                        print(f"{shown}: {shot.stat().st_size} B")
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
