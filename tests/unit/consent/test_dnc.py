"""The Singapore Do Not Call registry: number normalisation and the file-backed registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataright.consent.dnc import DncRegister, DncRegistry, FileDncRegistry, register_for, singapore_number
from dataright.declarations.schema import Channel
from dataright.errors import ValidationFailed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+65 9123 4567", "+6591234567"),
        ("+6561234567", "+6561234567"),
        ("0065-8123-4567", "+6581234567"),
        ("6591234567", "+6591234567"),
        ("91234567", "+6591234567"),
        ("(6) 123-4567", "+6561234567"),
        ("+4791234567", None),
        ("+65 1234 5678", None),  # Singapore numbers start with 3, 6, 8 or 9
        ("9123456", None),
        ("not a number", None),
    ],
)
def test_singapore_numbers_are_normalised_and_others_are_not(raw: str, expected: str | None) -> None:
    assert singapore_number(raw) == expected


def test_sms_is_checked_against_the_text_register_and_calls_against_voice() -> None:
    assert register_for(Channel.sms) is DncRegister.sms
    assert register_for(Channel.phone) is DncRegister.voice
    assert register_for(Channel.email) is None


def test_the_file_registry_reads_numbers_with_and_without_a_register(tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("number,register\n# exported 2025-06-01\n+65 9123 4567,sms\n61234567\n\n81234567,VOICE\n")
    registry = FileDncRegistry.from_file(path)
    assert isinstance(registry, DncRegistry)
    assert registry.is_registered("91234567", DncRegister.sms)
    assert not registry.is_registered("+6591234567", DncRegister.voice)
    assert all(registry.is_registered("+6561234567", r) for r in DncRegister)
    assert registry.is_registered("+65 8123 4567", DncRegister.voice)
    assert not registry.is_registered("+4791234567", DncRegister.sms)


def test_bad_lines_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "dnc.txt"
    path.write_text("91234567\n12345\n81234567,email\n")
    with pytest.raises(ValidationFailed) as info:
        FileDncRegistry.from_file(path)
    message = str(info.value)
    assert f"{path}:2 number: '12345' is not a Singapore number" in message
    assert f"{path}:3 register: unknown register 'email'" in message
