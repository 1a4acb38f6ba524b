"""The access log never carries an identifier or an unsubscribe token."""

from __future__ import annotations

import logging
import logging.config

from dataright.web.logging import RedactAccessLog, redact_target, uvicorn_log_config


def test_query_strings_are_dropped() -> None:
    assert redact_target("/api/v1/consent/check?controller=x&email=a@b.no") == "/api/v1/consent/check?…"


def test_unsubscribe_tokens_are_masked() -> None:
    assert redact_target("/u/abc.def") == "/u/…"
    assert redact_target("/u/abc.def?x=1") == "/u/…?…"


def test_plain_paths_pass_unchanged() -> None:
    assert redact_target("/healthz") == "/healthz"


def test_filter_rewrites_a_uvicorn_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/consent/check?email=a@b.no", "1.1", 200),
        None,
    )
    assert RedactAccessLog().filter(record)
    assert "a@b.no" not in record.getMessage()
    assert "/api/v1/consent/check?…" in record.getMessage()


def test_serve_installs_the_filter_on_the_access_handler() -> None:
    config = uvicorn_log_config()
    assert config["handlers"]["access"]["filters"] == ["redact"]
    logging.config.dictConfig(config)
