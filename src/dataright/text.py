"""What text from outside may hold, checked where it comes in (API bodies, query parameters, CSV cells).

Refused everywhere: C0 and C1 control characters (NUL included; multi-line text keeps tab, line feed and
carriage return), bidirectional embeddings, overrides, isolates and marks (they make a stored value read
differently from what it is, "Trojan Source"), zero-width characters and the byte order mark, and lone
surrogates (not text at all; no database stores them). Identifiers (e-mail, phone, customer id) are the
exception for the invisible ones: ``identity.normalise`` removes them before hashing, so a pasted address
with a stray zero-width space still finds its person.

Each check raises ``ValueError`` naming the code point (never the value, which may be personal data), so a
Pydantic field reports it with the field's place; ``*_PATTERN`` is the same rule as a JSON Schema pattern for
the OpenAPI document.
"""

from __future__ import annotations

import re

CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
LINE_BREAKS = "\t\n\r"
INVISIBLE = "\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
SURROGATES = "\ud800-\udfff"

_LINE = re.compile(f"[{CONTROL}{LINE_BREAKS}{INVISIBLE}{SURROGATES}]")
_TEXT = re.compile(f"[{CONTROL}{INVISIBLE}{SURROGATES}]")
_IDENTIFIER = re.compile(f"[{CONTROL}{LINE_BREAKS}{SURROGATES}]")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def _class_pattern(characters: str) -> str:
    """``^[^...]*$`` with every character as a ``\\uXXXX`` escape (JSON Schema uses ECMA-262 regexes)."""
    out: list[str] = []
    for part in re.findall(r".-.|.", characters, flags=re.DOTALL):
        out.append("-".join(f"\\u{ord(c):04x}" for c in part.split("-")) if len(part) == 3 else f"\\u{ord(part):04x}")
    return "^[^" + "".join(out) + "]*$"


# Lone surrogates are left out of the patterns: JSON text cannot carry them as characters (RFC 8259 8.2), and
# several JSON Schema tools refuse a pattern that names them. The checks below refuse them all the same.
LINE_PATTERN = _class_pattern(CONTROL + LINE_BREAKS + INVISIBLE)
TEXT_PATTERN = _class_pattern(CONTROL + INVISIBLE)
IDENTIFIER_PATTERN = _class_pattern(CONTROL + LINE_BREAKS)


def _refuse(found: re.Match[str] | None, what: str) -> None:
    if found is not None:
        raise ValueError(f"contains {what} U+{ord(found.group()):04X}; remove it")


def describe(character: str) -> str:
    code = ord(character)
    if character in LINE_BREAKS:
        return "a line break or tab"
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate"
    if _INVISIBLE.match(character):
        return "an invisible formatting character (bidirectional or zero-width)"
    return "a control character"


def check_line(value: str) -> str:
    """One line of text: no control, line-break, invisible formatting or surrogate characters."""
    found = _LINE.search(value)
    if found is not None:
        _refuse(found, describe(found.group()))
    return value


def check_text(value: str) -> str:
    """Text that may span lines (tab, CR and LF allowed); the rest as ``check_line``."""
    found = _TEXT.search(value)
    if found is not None:
        _refuse(found, describe(found.group()))
    return value


def check_identifier(value: str) -> str:
    """An identifier as typed: control characters refused; invisible formatting characters are let through
    for ``strip_invisible`` to remove."""
    found = _IDENTIFIER.search(value)
    if found is not None:
        _refuse(found, describe(found.group()))
    return value


def strip_invisible(value: str) -> str:
    """``value`` without bidirectional and zero-width characters."""
    return _INVISIBLE.sub("", value)


# --- personal data in free-text notes ---------------------------------------------------------------------
_EMAIL_LIKE = re.compile(r"@")
_DATE_OR_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NUMBER_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]*\d")
PHONE_DIGITS = 7
NOTE_PATTERN = LINE_PATTERN.replace("^[^", "^[^@")


def check_note(value: str) -> str:
    """A short note stored in clear (where a consent came from): one line that names no person, so no
    ``@`` (an e-mail address) and no run of ``PHONE_DIGITS`` or more digits (a phone number; dates and
    times written as ``YYYY-MM-DD[THH:MM]`` are fine)."""
    check_line(value)
    if _EMAIL_LIKE.search(value):
        raise ValueError("contains '@': notes stored in clear must not hold an e-mail address")
    for run in _NUMBER_RUN.finditer(_DATE_OR_TIME.sub(" ", value)):
        if sum(c.isdigit() for c in run.group()) >= PHONE_DIGITS:
            raise ValueError(
                f"contains a run of {PHONE_DIGITS} or more digits: notes stored in clear must not hold a phone number"
            )
    return value
