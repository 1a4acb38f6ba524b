"""One-click unsubscribe tokens and the RFC 8058 headers."""

from __future__ import annotations

import pytest
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
unsubscribes = st.builds(Unsubscribe, ids, ids, ids, st.sampled_from(list(Channel)))


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
    other = UnsubscribeSigner(KEY).sign(Unsubscribe("nexalearn", "subject-2", "birthday-greetings", Channel.email))
    forged = other.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(InvalidUnsubscribeToken):
        signer.verify(forged)


def test_a_token_made_with_another_key_is_invalid() -> None:
    token = UnsubscribeSigner(b"other" * 8).sign(Unsubscribe("c", "s", "t", Channel.email))
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        UnsubscribeSigner(KEY).verify(token)


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "!!!.???", "a.b.c"])
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


def test_headers_need_https_except_on_local_hosts() -> None:
    assert unsubscribe_headers("http://127.0.0.1:8000", "T")["List-Unsubscribe"] == "<http://127.0.0.1:8000/u/T>"
    assert unsubscribe_headers("http://localhost", "T")["List-Unsubscribe"] == "<http://localhost/u/T>"
    for public in ("http://privacy.example.com", "http://203.0.113.9", "ftp://privacy.example.com"):
        with pytest.raises(ValueError, match="https"):
            unsubscribe_headers(public, "T")
