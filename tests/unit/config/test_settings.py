"""Settings: environment, config file, secret key checks and derived keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dataright.config import Settings, derive_keys, get_settings, use_settings
from dataright.errors import ConfigurationError

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "SECRET_KEY", "DEMO", "DECLARATIONS", "CONFIG", "BASE_URL"):
        monkeypatch.delenv(f"DATARIGHT_{name}", raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_an_embedded_sqlite_file_and_record_no_ip() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///./dataright.sqlite3"
    assert settings.is_sqlite
    assert settings.record_ip is False and settings.record_user_agent is False
    assert settings.secret_key is None


def test_environment_variables_with_the_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATARIGHT_DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("DATARIGHT_DEMO", "true")
    monkeypatch.setenv("DATARIGHT_DECLARATIONS", "examples/a, examples/b")
    settings = Settings()
    assert settings.database_url == "postgresql://db/x"
    assert settings.demo is True
    assert settings.declarations == [Path("examples/a"), Path("examples/b")]


def test_declarations_accept_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATARIGHT_DECLARATIONS", '["one", "two"]')
    assert Settings().declarations == [Path("one"), Path("two")]


def test_a_toml_file_named_by_the_environment_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('database_url = "sqlite:///from-file.db"\nbase_url = "https://privacy.example/"\n')
    monkeypatch.setenv("DATARIGHT_CONFIG", str(config))
    monkeypatch.setenv("DATARIGHT_BASE_URL", "https://env.example")
    settings = Settings()
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.base_url == "https://env.example"


def test_dataright_toml_in_the_working_folder_is_read() -> None:
    Path("dataright.toml").write_text("record_ip = true\n")
    assert Settings().record_ip is True


def test_a_config_file_that_does_not_exist_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATARIGHT_CONFIG", "missing.toml")
    with pytest.raises(ConfigurationError, match=r"DATARIGHT_CONFIG=missing.toml: no such file"):
        Settings()


def test_unknown_keys_in_the_config_file_are_rejected() -> None:
    Path("dataright.toml").write_text("databse_url = 'x'\n")
    with pytest.raises(ValidationError, match="databse_url"):
        Settings()


def test_a_short_secret_key_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(secret_key="hunter2-but-short")
    assert "too short" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_keys_without_a_secret_key_raise_a_configuration_error_that_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="DATARIGHT_SECRET_KEY"):
        Settings().keys()


def test_derived_keys_differ_per_purpose_and_are_stable_per_secret() -> None:
    keys = Settings(secret_key=SECRET).keys()
    assert len({keys.identity_hash, keys.identity_encryption, keys.link_signing}) == 3
    assert all(len(k) == 32 for k in (keys.identity_hash, keys.identity_encryption, keys.link_signing))
    assert keys == derive_keys(SECRET)
    assert derive_keys("t" * 40).identity_hash != keys.identity_hash
    assert SECRET not in repr(keys)


def test_use_settings_installs_settings_for_the_process() -> None:
    mine = Settings(secret_key=SECRET, demo=True)
    try:
        use_settings(mine)
        assert get_settings() is mine
    finally:
        use_settings(None)
    assert get_settings().demo is False


def test_settings_survive_the_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("dataright.toml").write_text('record_ip = false\nbase_url = "https://from-file.example"\n')
    resolved = Settings(
        database_url="postgresql://db/x",
        secret_key=SECRET,
        demo=True,
        declarations=[Path("examples/a"), Path("examples/b, with a comma")],
        record_ip=True,
        base_url="https://privacy.example",
        dnc_registry_file=Path("dnc.csv"),
        cors_origins=["https://shop.example", "https://www.shop.example"],
    )
    environment = resolved.as_environment()
    assert environment["DATARIGHT_SECRET_KEY"] == SECRET
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings() == resolved  # and the environment beats the config file, as for any setting
