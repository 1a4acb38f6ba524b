"""One-click unsubscribe tokens and the RFC 8058 headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from dataright.consent.unsubscribe import (
    InvalidUnsubscribeToken,
    Unsubscribe,
    UnsubscribeSigner,
    unsubscribe_headers,
)
from dataright.declarations.schema import Channel

KEY = b"k" * 32
ids = st.text(alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), min_size=1, max_size=40)
languages = st.one_of(st.none(), st.sampled_from(["en", "nb", "sv", "pt-BR"]))
unsubscribes = st.builds(Unsubscribe, ids, ids, ids, st.sampled_from(list(Channel)), languages)


@given(unsubscribes)
def test_a_signed_token_verifies_to_what_was_signed(unsubscribe: Unsubscribe) -> None:
    signer = UnsubscribeSigner(KEY)
    assert signer.verify(signer.sign(unsubscribe)) == unsubscribe


@given(unsubscribes, st.data())
def test_changing_any_character_of_a_token_invalidates_it(unsubscribe: Unsubscribe, data: st.DataObject) -> None:
    signer = UnsubscribeSigner(KEY)
    token = signer.sign(unsubscribe)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("ABCabc012-_.").filter(lambda c: c != token[index]))
    tampered = token[:index] + replacement + token[index + 1 :]
    try:
        verified = signer.verify(tampered)
    except InvalidUnsubscribeToken:
        return
    # base64 padding bits: a different last character can decode to the same bytes; it must mean the same
    assert verified == unsubscribe


def test_a_token_for_one_subject_cannot_be_rewritten_for_another() -> None:
    signer = UnsubscribeSigner(KEY)
    token = signer.sign(Unsubscribe("nexalearn", "subject-1", "birthday-greetings", Channel.email))
    other = signer.sign(Unsubscribe("nexalearn", "subject-2", "birthday-greetings", Channel.email))
    spliced = token[: len(token) // 2] + other[len(other) // 2 :]
    with pytest.raises(InvalidUnsubscribeToken):
        signer.verify(spliced)


def _decodings(token: str) -> list[bytes]:
    """The token's bytes read as base64 from every offset, and the token itself."""
    found = [token.encode()]
    for start in range(4):
        chunk = token[start:]
        found.append(base64.urlsafe_b64decode(chunk[: len(chunk) - len(chunk) % 4]))
    return found


@given(st.uuids(), st.sampled_from(["nexalearn", "nestit", "nestpros"]))
def test_a_token_shows_neither_the_subject_nor_the_controller(subject: uuid.UUID, controller: str) -> None:
    token = UnsubscribeSigner(KEY).sign(Unsubscribe(controller, str(subject), "newsletter-email", Channel.email))
    for readable in _decodings(token):
        for secret in (str(subject).encode(), subject.bytes, subject.hex.encode(), controller.encode()):
            assert secret not in readable
    assert "." not in token and token.isascii()


def test_two_tokens_for_the_same_unsubscribe_differ_and_both_work() -> None:
    signer = UnsubscribeSigner(KEY)
    unsubscribe = Unsubscribe("nestit", str(uuid.uuid4()), "newsletter-email", Channel.email, "sv")
    first, second = signer.sign(unsubscribe), signer.sign(unsubscribe)
    assert first != second  # a fresh nonce each time: equal links do not reveal the same person
    assert signer.verify(first) == signer.verify(second) == unsubscribe


def test_a_signed_only_link_mailed_before_tokens_were_encrypted_still_works() -> None:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dataright/unsubscribe/v1").derive(KEY)
    payload = b"1|nestit|subject-9|newsletter-email|email"
    tag = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    token = (
        f"{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.{base64.urlsafe_b64encode(tag).decode().rstrip('=')}"
    )
    assert UnsubscribeSigner(KEY).verify(token) == Unsubscribe("nestit", "subject-9", "newsletter-email", Channel.email)
    forged = base64.urlsafe_b64encode(b"1|nestit|subject-8|newsletter-email|email").decode().rstrip("=")
    with pytest.raises(InvalidUnsubscribeToken):
        UnsubscribeSigner(KEY).verify(forged + "." + token.split(".")[1])


def test_a_token_made_with_another_key_is_invalid() -> None:
    token = UnsubscribeSigner(b"other" * 8).sign(Unsubscribe("c", "s", "t", Channel.email))
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        UnsubscribeSigner(KEY).verify(token)


@pytest.mark.parametrize(
    "token", ["", "abc", "abc.", ".abc", "!!!.???", "a.b.c", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "ÅÄÖ"]
)
def test_garbage_is_an_invalid_token(token: str) -> None:
    with pytest.raises(InvalidUnsubscribeToken):
        UnsubscribeSigner(KEY).verify(token)


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        UnsubscribeSigner(b"")


def test_headers_follow_rfc_8058() -> None:
    headers = unsubscribe_headers("https://privacy.example.com/", "TOKEN", mailto="unsubscribe@example.com")
    assert headers == {
        "List-Unsubscribe": (
            "<https://privacy.example.com/u/TOKEN>, <mailto:unsubscribe@example.com?subject=unsubscribe>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8000", "http://127.8.0.1", "http://[::1]:8000", "http://localhost"]
)
def test_plain_http_links_are_allowed_on_loopback(base_url: str) -> None:
    assert unsubscribe_headers(base_url, "T")["List-Unsubscribe"] == f"<{base_url}/u/T>"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://privacy.example.com",
        "http://203.0.113.9",
        "http://testserver",  # a single-label name is not loopback: an intranet host, say
        "http://intranet:8080",
        "http://10.0.0.5",
        "ftp://privacy.example.com",
    ],
)
def test_links_need_https_anywhere_but_loopback(base_url: str) -> None:
    with pytest.raises(ValueError, match="https"):
        unsubscribe_headers(base_url, "T")
