"""``dataright cookies scan`` refuses bad input with exit 2 and a message naming it, before any browser starts.
(The scans themselves run in tests/browser/.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.config import Settings, use_settings

runner = CliRunner()


@pytest.fixture
def no_chromium(tmp_path: Path) -> Iterator[Path]:
    missing = tmp_path / "no-chromium"
    use_settings(Settings(chromium=missing))
    yield missing
    use_settings(None)


def _scan(examples_dir: Path, url: str, controller: str = "nestit-group-ab", *extra: str) -> tuple[int, str]:
    declarations = str(examples_dir / "nestit-group")
    args = ["cookies", "scan", url, "--controller", controller, "--declarations", declarations, *extra]
    result = runner.invoke(app, args)
    return result.exit_code, result.stderr


def test_a_url_without_http_scheme_is_refused_with_exit_2(examples_dir: Path) -> None:
    code, stderr = _scan(examples_dir, "shop.example/index.html")
    assert code == 2
    assert "error: URL 'shop.example/index.html': expected an absolute http:// or https:// address" in stderr


def test_an_unknown_controller_is_refused_with_exit_2(examples_dir: Path) -> None:
    code, stderr = _scan(examples_dir, "http://127.0.0.1:9/", "no-such-controller")
    assert code == 2
    assert "error: --controller no-such-controller:" in stderr


def test_an_invalid_declaration_is_bad_input_not_a_violation(examples_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("organisation: [\n", encoding="utf-8")
    result = runner.invoke(
        app, ["cookies", "scan", "http://127.0.0.1:9/", "--controller", "x", "--declarations", str(broken)]
    )
    assert result.exit_code == 2
    assert "is not a valid declaration" in result.stderr


def test_a_missing_browser_is_named_with_how_to_install_it(examples_dir: Path, no_chromium: Path) -> None:
    code, stderr = _scan(examples_dir, "http://127.0.0.1:9/")
    assert code == 2
    assert f"Chromium not found at {no_chromium}" in stderr
    assert "apt-get install chromium" in stderr and "DATARIGHT_CHROMIUM" in stderr


def test_max_pages_below_one_is_refused_by_the_option(examples_dir: Path) -> None:
    code, stderr = _scan(examples_dir, "http://127.0.0.1:9/", "nestit-group-ab", "--max-pages", "0")
    assert code == 2
    assert "--max-pages" in stderr
