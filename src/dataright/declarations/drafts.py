"""Write dataset declarations as YAML a person reviews: every guess carries a ``# review: why`` comment.

PyYAML drops comments, so the few shapes a dataset declaration has (mappings, lists, scalars) are written
here; scalars go through ``yaml.safe_dump`` so quoting is always right. What is written loads back with
``dataright.declarations.loader`` unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

PathT = tuple[str | int, ...]


def scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000).strip()
    if text.endswith("..."):
        text = text[:-3].rstrip()
    return text


def render(document: Mapping[str, Any], notes: Mapping[PathT, str] | None = None, *, header: str = "") -> str:
    """The YAML text of ``document``; ``notes`` puts ``# review: <note>`` on the line of each path."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    _mapping(document, (), 0, notes or {}, lines)
    return "\n".join(lines) + "\n"


def _comment(notes: Mapping[PathT, str], path: PathT) -> str:
    note = notes.get(path)
    return f"  # review: {' '.join(note.split())}" if note else ""


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


def _mapping(value: Mapping[str, Any], path: PathT, indent: int, notes: Mapping[PathT, str], out: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        at = (*path, key)
        if _is_scalar(item):
            out.append(f"{pad}{key}: {scalar(item)}{_comment(notes, at)}")
        elif isinstance(item, Mapping):
            out.append(f"{pad}{key}:{_comment(notes, at)}")
            _mapping(item, at, indent + 2, notes, out)
        elif not item:
            out.append(f"{pad}{key}: []{_comment(notes, at)}")
        else:
            out.append(f"{pad}{key}:{_comment(notes, at)}")
            _sequence(item, at, indent + 2, notes, out)


def _sequence(value: Sequence[Any], path: PathT, indent: int, notes: Mapping[PathT, str], out: list[str]) -> None:
    pad = " " * indent
    for i, item in enumerate(value):
        at = (*path, i)
        if isinstance(item, Mapping) and item:
            inner: list[str] = []
            _mapping(item, at, indent + 2, notes, inner)
            out.append(f"{pad}- {inner[0].lstrip()}{_comment(notes, at) if '#' not in inner[0] else ''}")
            out.extend(inner[1:])
        elif _is_scalar(item):
            out.append(f"{pad}- {scalar(item)}{_comment(notes, at)}")
        else:
            raise TypeError(f"{path}: nested lists are not part of a dataset declaration")
