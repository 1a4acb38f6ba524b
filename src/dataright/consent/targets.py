"""What a consent is about, and whose it is, as short stable codes.

A *target* is a purpose, a cookie category or a communication topic on one channel; a *holder* is a
data subject or, before anyone logs in, an anonymous device. Both are stored as compact strings
(``purpose:analytics``, ``topic:newsletter:email``, ``s:<subject id>``, ``d:<device id>``) so the
current-state table has one short composite key and the check is a single point lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dataright.declarations.schema import Channel, CookieCategory


class TargetKind(StrEnum):
    purpose = "purpose"
    cookie = "cookie"
    topic = "topic"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    key: str
    channel: Channel | None = None
    code: str = field(init=False, repr=False, compare=False)  # computed once: checks look rules up by it

    def __post_init__(self) -> None:
        if not self.key or ":" in self.key:
            raise ValueError(f"a consent target key must be a non-empty id without ':', got {self.key!r}")
        if self.kind is TargetKind.topic and self.channel is None:
            raise ValueError(f"communication topic {self.key!r} needs a channel")
        if self.kind is not TargetKind.topic and self.channel is not None:
            raise ValueError(f"only communication topics have a channel ({self.kind} {self.key!r})")
        if self.kind is TargetKind.cookie and self.key not in CookieCategory.__members__:
            raise ValueError(f"unknown cookie category {self.key!r}; expected one of {', '.join(CookieCategory)}")
        code = f"{self.kind}:{self.key}:{self.channel}" if self.channel is not None else f"{self.kind}:{self.key}"
        object.__setattr__(self, "code", code)

    @classmethod
    def purpose(cls, purpose_id: str) -> Target:
        return cls(TargetKind.purpose, purpose_id)

    @classmethod
    def cookie(cls, category: str) -> Target:
        return cls(TargetKind.cookie, str(category))

    @classmethod
    def topic(cls, topic_id: str, channel: Channel | str) -> Target:
        return cls(TargetKind.topic, topic_id, Channel(channel))

    @classmethod
    def parse(cls, code: str) -> Target:
        parts = code.split(":")
        try:
            kind = TargetKind(parts[0])
        except ValueError:
            raise ValueError(
                f"{code!r} is not a consent target (purpose:ID, cookie:CATEGORY, topic:ID:CHANNEL)"
            ) from None
        if kind is TargetKind.topic and len(parts) == 3:
            return cls.topic(parts[1], parts[2])
        if kind is not TargetKind.topic and len(parts) == 2:
            return cls(kind, parts[1])
        raise ValueError(f"{code!r} is not a consent target (purpose:ID, cookie:CATEGORY, topic:ID:CHANNEL)")

    def __str__(self) -> str:
        return self.code


class HolderKind(StrEnum):
    subject = "s"
    device = "d"


@dataclass(frozen=True, slots=True)
class Holder:
    """Whose consent: a data subject, or an anonymous device (cookie banners before login)."""

    kind: HolderKind
    id: str
    code: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", f"{self.kind}:{self.id}")

    @classmethod
    def subject(cls, subject_id: object) -> Holder:
        return cls(HolderKind.subject, str(subject_id))

    @classmethod
    def device(cls, device_id: object) -> Holder:
        return cls(HolderKind.device, str(device_id))

    @classmethod
    def parse(cls, code: str) -> Holder:
        kind, sep, ident = code.partition(":")
        if not sep or not ident or kind not in ("s", "d"):
            raise ValueError(f"{code!r} is not a consent holder (s:SUBJECT or d:DEVICE)")
        return cls(HolderKind(kind), ident)

    def __str__(self) -> str:
        return self.code
