"""Singapore's Do Not Call registry, behind a small protocol (PDPA Part 9).

Before a marketing message ("specified message", s. 37) goes by SMS or voice call to a Singapore
number, the sender must have checked the number against the DNC register for that channel (voice,
text message, fax). A real deployment plugs in a client for the PDPC's service; ``FileDncRegistry``
reads an exported list and serves tests and offline checks.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from dataright.declarations.schema import Channel
from dataright.errors import Located, ValidationFailed


class DncRegister(StrEnum):
    voice = "voice"
    sms = "sms"
    fax = "fax"


_CHANNEL_REGISTER = {Channel.sms: DncRegister.sms, Channel.phone: DncRegister.voice}


def register_for(channel: Channel) -> DncRegister | None:
    """The register a channel is checked against; None for channels the DNC does not cover."""
    return _CHANNEL_REGISTER.get(channel)


_SEPARATORS = re.compile(r"[\s\-().]")


def singapore_number(raw: str) -> str | None:
    """``+65XXXXXXXX`` when ``raw`` is a Singapore number, else None.

    Accepted: ``+65 9123 4567``, ``0065...``, ``65`` followed by eight digits, and eight local digits.
    Singapore numbers have eight digits starting with 3, 6, 8 or 9.
    """
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        if not text.startswith("+65"):
            return None
        local = text[3:]
    elif text.startswith("0065"):
        local = text[4:]
    elif len(text) == 10 and text.startswith("65"):
        local = text[2:]
    else:
        local = text
    if len(local) == 8 and local.isdigit() and local[0] in "3689":
        return "+65" + local
    return None


@runtime_checkable
class DncRegistry(Protocol):
    def is_registered(self, number: str, register: DncRegister) -> bool:
        """True when the Singapore number ``number`` (``+65XXXXXXXX``) is on ``register``."""
        ...


class FileDncRegistry:
    """A registry read from a file: one number per line, optionally ``,register`` (voice / sms / fax).

    A line without a register puts the number on all three. Blank lines, ``#`` comments and a header
    line starting with ``number`` are skipped. A bad line is reported with its line number.
    """

    def __init__(self, entries: Iterable[tuple[str, DncRegister]]) -> None:
        self._entries = frozenset(entries)

    @classmethod
    def from_file(cls, path: Path) -> FileDncRegistry:
        problems: list[Located] = []
        entries: list[tuple[str, DncRegister]] = []
        with path.open(encoding="utf-8", newline="") as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                cells = [c.strip() for c in row]
                if not cells or not cells[0] or cells[0].startswith("#") or cells[0].lower() == "number":
                    continue
                number = singapore_number(cells[0])
                if number is None:
                    problems.append(Located(str(path), line_no, "number", f"{cells[0]!r} is not a Singapore number"))
                    continue
                register = cells[1].lower() if len(cells) > 1 and cells[1] else ""
                if register and register not in DncRegister.__members__:
                    message = f"unknown register {cells[1]!r}; expected voice, sms or fax"
                    problems.append(Located(str(path), line_no, "register", message))
                    continue
                registers = (DncRegister(register),) if register else tuple(DncRegister)
                entries.extend((number, r) for r in registers)
        if problems:
            raise ValidationFailed("\n".join(str(p) for p in problems))
        return cls(entries)

    def is_registered(self, number: str, register: DncRegister) -> bool:
        normalised = singapore_number(number)
        return normalised is not None and (normalised, register) in self._entries

    def __len__(self) -> int:
        return len(self._entries)
