"""Settings that shape the app: the Do Not Call registry file and CORS for cookie banners."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dataright.config import Settings
from dataright.consent.dnc import DncRegister
from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import ConfigurationError
from dataright.web.app import create_app


def test_dnc_registry_file_is_loaded_at_start_up(
    settings: Settings, registry: DeclarationRegistry, tmp_path: Path
) -> None:
    extract = tmp_path / "dnc.csv"
    extract.write_text("number,register\n+65 8123 4567,sms\n91234567\n", encoding="utf-8")

    app = create_app(settings.model_copy(update={"dnc_registry_file": extract}), registry)

    dnc = app.state.dnc_registry
    assert dnc.is_registered("+6581234567", DncRegister.sms)
    assert not dnc.is_registered("+6581234567", DncRegister.voice)
    assert dnc.is_registered("+6591234567", DncRegister.voice)


def test_without_a_registry_file_there_is_no_registry(settings: Settings, registry: DeclarationRegistry) -> None:
    assert create_app(settings, registry).state.dnc_registry is None


def test_a_bad_dnc_file_stops_start_up_naming_the_line(
    settings: Settings, registry: DeclarationRegistry, tmp_path: Path
) -> None:
    extract = tmp_path / "dnc.csv"
    extract.write_text("+6581234567\nnot-a-number\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"dnc\.csv:2"):
        create_app(settings.model_copy(update={"dnc_registry_file": extract}), registry)


def test_a_missing_dnc_file_stops_start_up(settings: Settings, registry: DeclarationRegistry, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        create_app(settings.model_copy(update={"dnc_registry_file": tmp_path / "nope.csv"}), registry)


def _preflight(client: TestClient, origin: str, headers: str = "content-type") -> tuple[int, dict[str, str]]:
    response = client.options(
        "/api/v1/cookie-consent",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers},
    )
    return response.status_code, dict(response.headers)


def test_a_listed_site_may_post_banner_choices_from_the_browser(
    engine: Engine, settings: Settings, registry: DeclarationRegistry
) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": ["https://nexalearn.no"]}), registry)
    with TestClient(app) as client:
        allowed = _preflight(client, "https://nexalearn.no", "content-type,sec-gpc")
        other = _preflight(client, "https://evil.example")
        keyed = _preflight(client, "https://nexalearn.no", "authorization")
    assert allowed[0] == 200
    assert allowed[1].get("access-control-allow-origin") == "https://nexalearn.no"
    assert other[0] == 400
    assert "access-control-allow-origin" not in other[1]
    assert keyed[0] == 400, "a browser must never be let to send an API key across origins"


def test_a_banner_on_a_listed_site_gets_its_device_id_back_across_origins(
    engine: Engine, settings: Settings, registry: DeclarationRegistry
) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": ["https://nexalearn.no"]}), registry)
    device = "d" + uuid.uuid4().hex
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/cookie-consent",
            json={"controller": "nexalearn", "device_id": device, "accepted": ["performance"]},
            headers={"Origin": "https://nexalearn.no"},
        )
    assert response.status_code == 201, response.text
    assert response.headers.get("access-control-allow-origin") == "https://nexalearn.no"
    assert response.json()["device_id"] == device
    assert response.json()["events"]


def test_cors_origins_read_from_a_comma_separated_environment_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATARIGHT_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
