"""Opaque one-click unsubscribe links (RFC 8058) and the mail headers that carry them.

A token names the controller, the subject id, the topic, the channel and the language the message was
written in, sealed with AES-256-GCM under a key derived (HKDF) from the platform's secret key: it is
encrypted, so a link shows nobody whom it unsubscribes, and authenticated, so it cannot be altered to
unsubscribe someone else. It needs no database row and does not expire: an old newsletter's link must
still work, including the signed-only (version 1) links made before tokens were encrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dataright.declarations.schema import Channel
from dataright.errors import NotFound

_SEALED = b"\x02"  # version 2: AES-GCM; version 1 tokens (HMAC only, readable) are still honoured
_LEGACY_VERSION = "1"
_NONCE_BYTES = 12
_LEGACY_TAG_BYTES = 16
_SEPARATOR = "|"


class InvalidUnsubscribeToken(NotFound):
    title = "Invalid unsubscribe link"


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    controller_id: str
    subject_id: str
    topic_id: str
    channel: Channel
    language: str | None = None  # the language of the message that carried the link

    def __post_init__(self) -> None:
        for name in ("controller_id", "subject_id", "topic_id"):
            value = getattr(self, name)
            if not value or _SEPARATOR in value:
                raise ValueError(f"{name} must be non-empty and free of {_SEPARATOR!r}, got {value!r}")
        if self.language is not None and (not self.language or _SEPARATOR in self.language):
            raise ValueError(f"language must be non-empty and free of {_SEPARATOR!r}, got {self.language!r}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class UnsubscribeSigner:
    """Makes and opens tokens; construct it with the platform's secret key."""

    def __init__(self, secret_key: str | bytes) -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        if not secret:
            raise ValueError("an unsubscribe signer needs a non-empty secret key")
        self._aead = AESGCM(_derive(secret, b"dataright/unsubscribe/v2"))
        self._legacy_key = _derive(secret, b"dataright/unsubscribe/v1")

    def sign(self, unsubscribe: Unsubscribe) -> str:
        """An opaque token (URL-safe): a random nonce, then the sealed fields."""
        fields = (unsubscribe.controller_id, unsubscribe.subject_id, unsubscribe.topic_id, str(unsubscribe.channel))
        payload = _SEPARATOR.join((*fields, unsubscribe.language or "")).encode()
        nonce = os.urandom(_NONCE_BYTES)
        return _b64(_SEALED + nonce + self._aead.encrypt(nonce, payload, _SEALED))

    def verify(self, token: str) -> Unsubscribe:
        """The unsubscribe a token stands for; ``InvalidUnsubscribeToken`` when it was not made by us."""
        if "." in token:
            return self._verify_legacy(token)
        try:
            raw = _unb64(token)
        except (ValueError, binascii.Error):
            raise _invalid() from None
        if len(raw) < 1 + _NONCE_BYTES + 16 or raw[:1] != _SEALED:
            raise _invalid()
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        try:
            payload = self._aead.decrypt(nonce, sealed, _SEALED)
        except InvalidTag:
            raise _invalid() from None
        parts = payload.decode().split(_SEPARATOR)
        if len(parts) != 5:
            raise _invalid()
        return Unsubscribe(parts[0], parts[1], parts[2], Channel(parts[3]), parts[4] or None)

    def _verify_legacy(self, token: str) -> Unsubscribe:
        """A version 1 token (``payload.tag``, HMAC-SHA256), as links mailed before version 2 carry."""
        body, _, tag = token.partition(".")
        try:
            payload, given = _unb64(body), _unb64(tag)
        except (ValueError, binascii.Error):
            raise _invalid() from None
        expected = hmac.new(self._legacy_key, payload, hashlib.sha256).digest()[:_LEGACY_TAG_BYTES]
        if not hmac.compare_digest(given, expected):
            raise _invalid()
        parts = payload.decode().split(_SEPARATOR)
        if len(parts) != 5 or parts[0] != _LEGACY_VERSION:
            raise _invalid()
        return Unsubscribe(parts[1], parts[2], parts[3], Channel(parts[4]))


def _invalid() -> InvalidUnsubscribeToken:
    return InvalidUnsubscribeToken("this unsubscribe link is not valid")


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): a host no recipient's mail client reaches."""
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unsubscribe_headers(base_url: str, token: str, *, mailto: str | None = None) -> dict[str, str]:
    """``List-Unsubscribe`` and ``List-Unsubscribe-Post`` for one message (RFC 2369, RFC 8058).

    RFC 8058 requires an HTTPS URI. Plain HTTP is accepted only on loopback (``localhost``, 127.0.0.0/8,
    ``::1``), where a developer tries the links on their own machine; any other host needs ``https://``.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
        raise ValueError(
            f"RFC 8058 needs an https:// unsubscribe URL (plain http only on loopback), got base_url {base_url!r}"
        )
    value = f"<{unsubscribe_url(base_url, token)}>"
    if mailto:
        value += f", <mailto:{mailto}?subject=unsubscribe>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
