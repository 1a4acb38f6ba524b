"""One-time codes and download links: bound to their request, compared in constant time, expiring."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dataright.config import Settings, use_settings
from dataright.errors import ConfigurationError
from dataright.requests import delivery, verification
from dataright.requests.delivery import DownloadGrant, InvalidDownloadLink
from fixtures.db import TEST_SECRET

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def keys() -> Iterator[None]:
    use_settings(Settings(secret_key=TEST_SECRET))
    yield
    use_settings(None)


def test_a_code_is_stored_as_an_hmac_bound_to_its_request() -> None:
    request, other = uuid.uuid4(), uuid.uuid4()
    code = verification.new_code()
    assert len(code) == verification.CODE_DIGITS and code.isdigit()
    stored = verification.code_hash(request, code)
    assert code not in stored and len(stored) == 64
    assert verification.code_matches(stored, request, code)
    assert verification.code_matches(stored, request, f" {code} ")
    assert not verification.code_matches(stored, other, code)
    assert not verification.code_matches(stored, request, "x" + code[1:])


def test_a_download_token_works_for_its_request_until_it_expires() -> None:
    request, package = uuid.uuid4(), uuid.uuid4()
    token = delivery.sign_download(DownloadGrant(request, package, NOW + timedelta(days=14)))
    assert delivery.read_download(token, request_id=request, now=NOW).package_id == package
    with pytest.raises(InvalidDownloadLink):
        delivery.read_download(token, request_id=uuid.uuid4(), now=NOW)  # anyone else's request
    with pytest.raises(InvalidDownloadLink):
        delivery.read_download(token, request_id=request, now=NOW + timedelta(days=15))
    payload, signature = token.split(".")
    with pytest.raises(InvalidDownloadLink):
        delivery.read_download(payload + "." + signature[::-1], request_id=request, now=NOW)
    with pytest.raises(InvalidDownloadLink):
        delivery.read_download("garbage", request_id=request, now=NOW)


def test_a_package_decrypts_only_as_the_package_of_its_request() -> None:
    request, package = uuid.uuid4(), uuid.uuid4()
    blob = delivery.encrypt_package(request, package, b"zip bytes")
    assert b"zip bytes" not in blob
    assert delivery.decrypt_package(request, package, blob) == b"zip bytes"
    with pytest.raises(ValueError, match="does not decrypt"):
        delivery.decrypt_package(uuid.uuid4(), package, blob)


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, *, to: str, text: str) -> None:
        self.sent.append((to, text))


def test_an_sms_sender_is_loaded_from_its_dotted_name_and_bad_names_are_configuration_errors() -> None:
    assert verification.load_sms_sender(None) is None
    sender = verification.load_sms_sender(f"{__name__}:RecordingSender")
    assert isinstance(sender, RecordingSender)
    with pytest.raises(ConfigurationError, match=r"expected 'package\.module:attribute'"):
        verification.load_sms_sender("no-colon")
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        verification.load_sms_sender("dataright.nowhere:Sender")
