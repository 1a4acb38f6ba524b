"""Signed one-click unsubscribe links (RFC 8058) and the mail headers that carry them.

A token names the controller, the subject id, the topic and the channel, and carries an HMAC-SHA256
tag under a key derived (HKDF) from the platform's secret key, so it needs no database row and cannot
be altered to unsubscribe someone else. It does not expire: an old newsletter's link must still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dataright.declarations.schema import Channel
from dataright.errors import NotFound

_VERSION = "1"
_TAG_BYTES = 16  # 128-bit tags: forging one is out of reach, and links stay short
_SEPARATOR = "|"


class InvalidUnsubscribeToken(NotFound):
    title = "Invalid unsubscribe link"


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    controller_id: str
    subject_id: str
    topic_id: str
    channel: Channel

    def __post_init__(self) -> None:
        for name in ("controller_id", "subject_id", "topic_id"):
            value = getattr(self, name)
            if not value or _SEPARATOR in value:
                raise ValueError(f"{name} must be non-empty and free of {_SEPARATOR!r}, got {value!r}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeSigner:
    """Makes and checks tokens; construct it with the platform's secret key."""

    def __init__(self, secret_key: str | bytes) -> None:
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        if not secret:
            raise ValueError("an unsubscribe signer needs a non-empty secret key")
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dataright/unsubscribe/v1").derive(
            secret
        )

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def sign(self, unsubscribe: Unsubscribe) -> str:
        fields = (_VERSION, unsubscribe.controller_id, unsubscribe.subject_id, unsubscribe.topic_id)
        payload = _SEPARATOR.join((*fields, str(unsubscribe.channel))).encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def verify(self, token: str) -> Unsubscribe:
        """The unsubscribe a token stands for; ``InvalidUnsubscribeToken`` when it was not made by us."""
        invalid = InvalidUnsubscribeToken("this unsubscribe link is not valid")
        body, dot, tag = token.partition(".")
        if not dot:
            raise invalid
        try:
            payload, given = _unb64(body), _unb64(tag)
        except ValueError:
            raise invalid from None
        if not hmac.compare_digest(given, self._tag(payload)):
            raise invalid
        parts = payload.decode().split(_SEPARATOR)
        if len(parts) != 5 or parts[0] != _VERSION:
            raise invalid
        return Unsubscribe(parts[1], parts[2], parts[3], Channel(parts[4]))


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def unsubscribe_headers(base_url: str, token: str, *, mailto: str | None = None) -> dict[str, str]:
    """``List-Unsubscribe`` and ``List-Unsubscribe-Post`` for one message (RFC 2369, RFC 8058).

    RFC 8058 requires an HTTPS URI; plain HTTP is accepted only for local hosts (loopback addresses and
    single-label names such as ``localhost`` or a test server), which no recipient's mail client reaches.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    local = host in ("127.0.0.1", "::1") or (bool(host) and "." not in host and ":" not in host)
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ValueError(f"RFC 8058 needs an https:// unsubscribe URL, got {base_url!r}")
    value = f"<{unsubscribe_url(base_url, token)}>"
    if mailto:
        value += f", <mailto:{mailto}?subject=unsubscribe>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
