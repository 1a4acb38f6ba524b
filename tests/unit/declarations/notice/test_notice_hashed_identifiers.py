"""A notice whose recipients match hashed e-mail addresses says, once and in its own language, that a hashed
address is still personal data (GDPR Art. 4(5), Recital 26); the jurisdiction pack holds the words."""

from __future__ import annotations

import pytest

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.notice import render_notice
from dataright.declarations.schema import Declaration


@pytest.mark.parametrize(
    ("controller", "lang"), [("nestit-group-ab", "sv"), ("provendo-as", "nb"), ("nestit-group-ab", "en")]
)
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_notice_says_hashed_addresses_are_personal_data_once(
    nestit: Declaration, controller: str, lang: str, fmt: str
) -> None:
    note = get_jurisdiction("gdpr").hashed_identifiers
    assert note is not None
    text = " ".join(render_notice(nestit, controller, lang, fmt).split())  # type: ignore[arg-type]
    assert text.count(" ".join(note[lang].split())) == 1  # type: ignore[index]


def test_a_notice_without_matching_recipients_says_nothing_of_hashes(nexalearn: Declaration) -> None:
    note = get_jurisdiction("gdpr").hashed_identifiers
    assert note is not None
    assert note["en"] not in render_notice(nexalearn, "nexalearn", "en", "md")
