"""Settings: the only place dataright reads the environment.

Values come, strongest first, from keyword arguments, ``DATARIGHT_*`` environment variables, and a TOML
file (``DATARIGHT_CONFIG``, else ``./dataright.toml`` when present; top-level keys named like the fields
below). The secret key never appears in the database: separate keys for hashing identities, encrypting
them and signing links are derived from it with HKDF, so one leaked derived key does not expose the others.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dataright.errors import ConfigurationError

CONFIG_ENV = "DATARIGHT_CONFIG"
DEFAULT_CONFIG_FILE = Path("dataright.toml")
DEFAULT_DEMO_MAIL_DIR = Path("dataright-mail")
MIN_SECRET_LENGTH = 32
SECRET_HINT = (
    "set DATARIGHT_SECRET_KEY to a random value of at least 32 characters, e.g. the output of "
    '`python -c "import secrets; print(secrets.token_urlsafe(32))"`; keep it: identities stored with one key '
    "cannot be found or decrypted with another"
)


def _config_file() -> Path | None:
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigurationError(f"{CONFIG_ENV}={named}: no such file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class Settings(BaseSettings):
    """Everything dataright can be configured with."""

    model_config = SettingsConfigDict(env_prefix="DATARIGHT_", extra="forbid", frozen=True, hide_input_in_errors=True)

    database_url: str = "sqlite:///./dataright.sqlite3"
    secret_key: SecretStr | None = None
    demo: bool = False
    declarations: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    record_ip: bool = False
    record_user_agent: bool = False
    base_url: str = "http://127.0.0.1:8000"
    require_services: bool = False
    dnc_registry_file: Path | None = None
    """Singapore Do Not Call registry extract (one number per line, optionally ``,voice|sms|fax``)."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Sites whose cookie banner may post to ``/api/v1/cookie-consent`` from the browser."""
    sms_sender: str | None = None
    """``module:attribute`` of an ``requests.verification.SmsSender`` (a factory or an instance) that sends
    one-time codes to phone identities; without one, requests must give an e-mail address."""
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    """Connections the server keeps open to a PostgreSQL database for its sessions (SQLAlchemy's ``pool_size``)."""
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    """Connections opened beyond ``db_pool_size`` under load and closed when given back."""
    check_pool_size: int = Field(default=8, ge=1, le=1000)
    """On PostgreSQL, the consent check's own connections (an asyncio pool beside the sessions' pool)."""
    worker_threads: int = Field(default=40, ge=1, le=1000)
    """Worker threads the server runs blocking work in (AnyIO's default thread limit)."""
    db_pool_timeout: float = Field(5.0, gt=0)
    """Seconds a request waits for a free database connection before it is answered 503 with Retry-After."""
    db_write_timeout: float = Field(5.0, gt=0)
    """Seconds a write waits for its turn (a write slot; on SQLite the database's write lock) before it is
    answered 503 with Retry-After instead of queueing."""
    audit_seal_interval: float = Field(1.0, gt=0)
    """Seconds between the server's runs of the audit sealer (which chains newly appended entries)."""
    audit_head_file: Path | None = None
    """Where the server writes the audit chain's signed head (JSON), for ``audit verify --expect-head``."""
    audit_head_url: str | None = None
    """A URL the server POSTs the signed head to (JSON), e.g. a log collector on another machine."""
    audit_head_interval: float = Field(60.0, gt=0)
    """Seconds between signed heads written to ``audit_head_file`` / posted to ``audit_head_url``."""
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    """Upgrade the connection with STARTTLS (port 587)."""
    smtp_ssl: bool = False
    """Speak TLS from the first byte (port 465)."""
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "dataright@localhost"
    """The envelope sender and ``From`` address of every e-mail; the controller's name is its display name."""
    mail_dir: Path | None = None
    """Write each e-mail as an ``.eml`` file into this folder instead of sending it (default in demo mode:
    ``./dataright-mail``)."""
    mail_max_attempts: int = Field(default=8, ge=1)
    mail_backoff_seconds: float = Field(default=60.0, ge=0)
    """The wait after the first failed attempt; doubled after each further one, up to ``mail_backoff_max_seconds``."""
    mail_backoff_max_seconds: float = Field(default=6 * 3600.0, ge=0)
    mail_lease_seconds: float = Field(default=300.0, gt=0)
    """How long a sender holds the rows it claimed before another sender may take them over."""
    jobs_runner: Literal["inprocess", "dramatiq", "off"] = "inprocess"
    """Who runs background jobs: a worker inside ``dataright serve`` (the default), ``dataright worker``
    processes fed through Dramatiq (the server only hands job ids to the broker), or nobody (``off``)."""
    jobs_broker_url: str = "redis://127.0.0.1:6379/0"
    """The Redis server Dramatiq passes job ids through (``jobs_runner = "dramatiq"``)."""
    jobs_namespace: str = Field(default="dataright", pattern=r"^[A-Za-z0-9_.:-]{1,60}$")
    """Prefix of dataright's keys on the Redis server (two installations can share one server)."""
    jobs_queue: str = Field(default="dataright", pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    jobs_threads: int = Field(default=2, ge=1, le=64)
    """Jobs run at once by one worker (one server process, or one ``dataright worker``)."""
    jobs_poll_seconds: float = Field(default=5.0, gt=0)
    """How often a runner looks for jobs no wake-up told it about, fires due schedules and re-queues the jobs
    of workers that died."""
    job_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """More modules defining job kinds (dotted names), imported by every runner."""
    jobs_schedules: bool = True
    """Fire the built-in schedules (mail, reminders, expiry, fulfilment, retention)."""
    schedule_mail_seconds: int = Field(default=30, ge=1)
    schedule_requests_seconds: int = Field(default=3600, ge=60)
    """How often request reminders and the expiry of unverified requests run (reminders go once a day)."""
    schedule_fulfilment_seconds: int = Field(default=60, ge=1)
    """How often requests in progress are looked at for engine work (erasure, rectification, restriction) that
    no start queued (the safety net: starting a request queues its job at once)."""
    schedule_retention_seconds: int = Field(default=86400, ge=60)
    """How often every controller's retention sweep runs (a withdrawal of consent is acted on at the next one)."""
    schedule_cookie_scan_seconds: int = Field(default=0, ge=0)
    """How often each controller's declared ``website`` is scanned for cookies (a ``cookies.scan`` job each);
    0, the default, never: a scan reaches out to the public site in a headless browser."""
    reminder_within_days: int = Field(default=3, ge=0, le=60)
    chromium: Path = Path("/usr/bin/chromium")
    """The Chromium executable the cookie scanner, the banner's browser tests and its screenshot script drive
    headless: Debian's package (no browser is downloaded)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("declarations", "cors_origins", "job_modules", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        """Accept a JSON list or a comma-separated string from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"secret_key is too short ({len(value.get_secret_value())} characters); {SECRET_HINT}")
        return value

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Settings:
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("smtp_ssl and smtp_starttls exclude each other: choose TLS from the start or STARTTLS")
        return self

    @property
    def mail_folder(self) -> Path | None:
        """Where e-mails are written as files instead of sent, or None when they go to the SMTP server."""
        if self.mail_dir is not None:
            return self.mail_dir
        return DEFAULT_DEMO_MAIL_DIR if self.demo else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require_secret(self) -> None:
        """Raise a clear error when the secret key is missing (outside demo mode the server needs one)."""
        if self.secret_key is None:
            raise ConfigurationError(f"no secret key: {SECRET_HINT}")

    def as_environment(self) -> dict[str, str]:
        """These settings as ``DATARIGHT_*`` variables, from which ``Settings()`` reads them back: how server
        workers started in fresh processes get the settings their parent resolved (flags, demo secret)."""
        values = self.model_dump(mode="json")
        if self.secret_key is not None:
            values["secret_key"] = self.secret_key.get_secret_value()
        if self.smtp_password is not None:
            values["smtp_password"] = self.smtp_password.get_secret_value()
        return {
            f"DATARIGHT_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in values.items()
            if value is not None
        }

    def keys(self) -> Keys:
        """The keys derived from the secret key; a ``ConfigurationError`` when there is none."""
        self.require_secret()
        assert self.secret_key is not None
        return derive_keys(self.secret_key.get_secret_value())


@dataclass(frozen=True)
class Keys:
    """Purpose-bound keys, each 32 bytes, derived from the secret key."""

    identity_hash: bytes  # HMAC-SHA256 over normalised identifiers, for lookup
    identity_encryption: bytes  # AES-256-GCM over identifiers, so staff can contact the person
    link_signing: bytes  # HMAC over signed links (unsubscribe, confirmation)
    verification: bytes  # HMAC over one-time codes and magic links of rights requests
    package_encryption: bytes  # AES-256-GCM over access packages at rest
    audit_head: bytes  # HMAC over the audit chain's signed heads
    pseudonym: bytes = b""  # HMAC behind erasure's stable pseudonyms in the organisation's datastores

    def __repr__(self) -> str:
        return "Keys(<hidden>)"


def _hkdf(secret: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(secret)


@cache
def derive_keys(secret: str) -> Keys:
    raw = secret.encode()
    return Keys(
        identity_hash=_hkdf(raw, "dataright/identity-hash/v1"),
        identity_encryption=_hkdf(raw, "dataright/identity-encryption/v1"),
        link_signing=_hkdf(raw, "dataright/link-signing/v1"),
        verification=_hkdf(raw, "dataright/request-verification/v1"),
        package_encryption=_hkdf(raw, "dataright/package-encryption/v1"),
        audit_head=_hkdf(raw, "dataright/audit-head/v1"),
        pseudonym=_hkdf(raw, "dataright/dataset-pseudonym/v1"),
    )


_active: Settings | None = None


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()


def get_settings() -> Settings:
    """The settings in force: those installed with ``use_settings``, else read from the environment once."""
    return _active if _active is not None else _from_environment()


def use_settings(settings: Settings | None) -> None:
    """Install settings for this process (the server, a CLI command, a test); ``None`` goes back to the env."""
    global _active
    _active = settings
    _from_environment.cache_clear()


def environment() -> dict[str, str]:
    """The process environment, for datasets whose URLs and API keys name ``${VAR}`` secrets."""
    return dict(os.environ)
