"""Keyed hashing and encryption of identifiers, with keys derived from the secret key (see ``config``).

* ``keyed_hash``: HMAC-SHA256 over ``kind`` and the normalised value: equal identities give equal hashes
  (lookup, uniqueness) but without the key a hash cannot be tested against a guessed e-mail address.
* ``encrypt``/``decrypt``: AES-256-GCM with a random 96-bit nonce; the controller and kind are bound in as
  associated data, so a ciphertext copied to another row or controller does not decrypt.
  Layout: ``version (1 byte) | nonce (12) | ciphertext+tag``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataright.config import Keys, get_settings

VERSION = b"\x01"
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A ciphertext was altered, moved, or written under another secret key."""


def current_keys() -> Keys:
    return get_settings().keys()


def keyed_hash(kind: str, normalised: str, keys: Keys | None = None) -> str:
    key = (keys or current_keys()).identity_hash
    return hmac.new(key, f"{kind}\x00{normalised}".encode(), hashlib.sha256).hexdigest()


def _aad(controller_id: str, kind: str) -> bytes:
    return f"{controller_id}\x00{kind}".encode()


def encrypt(controller_id: str, kind: str, normalised: str, keys: Keys | None = None) -> bytes:
    aead = AESGCM((keys or current_keys()).identity_encryption)
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + aead.encrypt(nonce, normalised.encode(), _aad(controller_id, kind))


def decrypt(controller_id: str, kind: str, blob: bytes, keys: Keys | None = None) -> str:
    if blob[:1] != VERSION:
        raise DecryptionFailed(f"unknown ciphertext version {blob[:1]!r}")
    aead = AESGCM((keys or current_keys()).identity_encryption)
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, body, _aad(controller_id, kind)).decode()
    except InvalidTag:
        raise DecryptionFailed("ciphertext does not decrypt under the current secret key") from None
