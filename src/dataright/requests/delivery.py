"""Access packages at rest and in transit: AES-256-GCM encryption, and signed, expiring, single-purpose links.

A download token is ``<payload>.<signature>``, both base64url: the payload names the purpose
(``package-download``), the request, the package and the expiry; the signature is HMAC-SHA256 under the
link-signing key. A token is good for one package of one request until it expires, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataright.config import get_settings
from dataright.errors import NotFound

PURPOSE = "package-download"
VERSION = b"\x01"
NONCE_BYTES = 12


class InvalidDownloadLink(NotFound):
    title = "Invalid or expired download link"


def _aad(request_id: uuid.UUID, package_id: uuid.UUID) -> bytes:
    return f"package\x00{request_id}\x00{package_id}".encode()


def encrypt_package(request_id: uuid.UUID, package_id: uuid.UUID, data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    aead = AESGCM(get_settings().keys().package_encryption)
    return VERSION + nonce + aead.encrypt(nonce, data, _aad(request_id, package_id))


def decrypt_package(request_id: uuid.UUID, package_id: uuid.UUID, blob: bytes) -> bytes:
    aead = AESGCM(get_settings().keys().package_encryption)
    if blob[:1] != VERSION:
        raise ValueError("unknown package ciphertext version")
    try:
        return aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], _aad(request_id, package_id))
    except InvalidTag:
        raise ValueError("the package does not decrypt under the current secret key") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes) -> bytes:
    return hmac.new(get_settings().keys().link_signing, payload, hashlib.sha256).digest()


@dataclass(frozen=True)
class DownloadGrant:
    request_id: uuid.UUID
    package_id: uuid.UUID
    expires_at: datetime


def sign_download(grant: DownloadGrant) -> str:
    payload = json.dumps(
        {
            "p": PURPOSE,
            "r": str(grant.request_id),
            "k": str(grant.package_id),
            "e": int(grant.expires_at.timestamp()),
        },
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


def read_download(token: str, *, request_id: uuid.UUID, now: datetime) -> DownloadGrant:
    """The grant a token carries, if it is genuine, for ``request_id``, for downloads, and not expired."""
    refused = InvalidDownloadLink("this download link is not valid for this request or has expired")
    try:
        encoded, signature = token.split(".", 1)
        payload = _unb64(encoded)
        if not hmac.compare_digest(_unb64(signature), _sign(payload)):
            raise refused
        data = json.loads(payload)
        grant = DownloadGrant(
            request_id=uuid.UUID(data["r"]),
            package_id=uuid.UUID(data["k"]),
            expires_at=datetime.fromtimestamp(int(data["e"]), UTC),
        )
        purpose = data["p"]
    except (ValueError, KeyError, TypeError):
        raise refused from None
    if purpose != PURPOSE or grant.request_id != request_id or grant.expires_at <= now:
        raise refused
    return grant
