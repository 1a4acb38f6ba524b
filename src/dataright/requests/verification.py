"""Proving who asks: one-time codes and magic links, kept as HMACs only, and the SMS hook for phone identities.

A challenge carries a six-digit code and a link token. The code is bound to its request (its HMAC covers the
request id), so a code for one request never verifies another; the link token is 256 random bits. Both are
stored as HMAC-SHA256 under a key derived from the secret key and compared in constant time. A challenge
expires after ``CHALLENGE_TTL``, locks after ``MAX_ATTEMPTS`` wrong codes, and works once.

Phone identities get their code by SMS through an ``SmsSender`` the operator configures
(``DATARIGHT_SMS_SENDER=package.module:attribute``); dataright ships no sender of its own, and without one a
request must give an e-mail address.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import secrets
import uuid
from datetime import timedelta
from typing import Protocol, runtime_checkable

from dataright.config import Keys, get_settings
from dataright.errors import ConfigurationError

CODE_DIGITS = 6
MAX_ATTEMPTS = 5
MAX_CHALLENGES = 3
CHALLENGE_TTL = timedelta(hours=24)
VERIFY_WITHIN = timedelta(days=14)
"""A request whose requester has not proved who they are within this time expires."""


@runtime_checkable
class SmsSender(Protocol):
    """Sends one text message; raises on failure (the request is then not filed)."""

    def send(self, *, to: str, text: str) -> None: ...


def load_sms_sender(spec: str | None) -> SmsSender | None:
    """The sender named ``module:attribute`` (an instance, or a class/factory called without arguments)."""
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"sms_sender={spec!r}: expected 'package.module:attribute'")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"sms_sender={spec!r}: cannot be imported ({exc})") from None
    sender = found() if isinstance(found, type) or not isinstance(found, SmsSender) else found
    if not isinstance(sender, SmsSender):
        raise ConfigurationError(f"sms_sender={spec!r}: has no send(*, to, text) method")
    return sender


def _keys() -> Keys:
    return get_settings().keys()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def code_hash(request_id: uuid.UUID, code: str) -> str:
    message = f"code\x00{request_id}\x00{code.strip()}".encode()
    return hmac.new(_keys().verification, message, hashlib.sha256).hexdigest()


def link_hash(token: str) -> str:
    return hmac.new(_keys().verification, f"link\x00{token}".encode(), hashlib.sha256).hexdigest()


def code_matches(stored_hash: str, request_id: uuid.UUID, given: str) -> bool:
    return hmac.compare_digest(stored_hash, code_hash(request_id, given))
