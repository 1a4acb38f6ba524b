"""Target and holder codes: what the state table is keyed by."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataright.consent.targets import Holder, Target, TargetKind
from dataright.declarations.schema import Channel, CookieCategory

keys = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,30}", fullmatch=True)
targets = st.one_of(
    st.builds(Target.purpose, keys),
    st.builds(Target.cookie, st.sampled_from([str(c) for c in CookieCategory])),
    st.builds(Target.topic, keys, st.sampled_from(list(Channel))),
)


@given(targets)
def test_target_codes_round_trip(target: Target) -> None:
    assert Target.parse(target.code) == target


@given(st.sampled_from(["s", "d"]), st.uuids())
def test_holder_codes_round_trip(kind: str, ident: object) -> None:
    holder = Holder.subject(ident) if kind == "s" else Holder.device(ident)
    assert Holder.parse(holder.code) == holder


@pytest.mark.parametrize(
    "code", ["", "purpose", "purpose:", "topic:newsletter", "cookie:tasty", "banana:x", "purpose:a:b", "topic:t:fax"]
)
def test_bad_target_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        Target.parse(code)


def test_a_topic_needs_a_channel_and_nothing_else_has_one() -> None:
    with pytest.raises(ValueError, match="needs a channel"):
        Target(TargetKind.topic, "newsletter")
    with pytest.raises(ValueError, match="only communication topics"):
        Target(TargetKind.purpose, "analytics", Channel.email)


@pytest.mark.parametrize("code", ["x:1", "s:", "s", "subject:1"])
def test_bad_holder_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError):
        Holder.parse(code)
