"""Paths into the merged document that several rules share."""

from __future__ import annotations

from dataright.declarations.loader import PathT
from dataright.declarations.schema import Declaration


def rights_path(declaration: Declaration, controller_id: str, *rest: str | int) -> PathT:
    """Where a controller's rights handling is written: its own ``rights`` block, or the shared one."""
    for index, controller in enumerate(declaration.controllers):
        if controller.id == controller_id and controller.rights is not None:
            return ("controllers", index, "rights", *rest)
    return ("rights", *rest)


def controller_path(declaration: Declaration, controller_id: str, *rest: str | int) -> PathT:
    index = next(i for i, c in enumerate(declaration.controllers) if c.id == controller_id)
    return ("controllers", index, *rest)
