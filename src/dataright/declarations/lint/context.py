"""Which law each part of a declaration answers to.

A purpose is governed by the jurisdiction packs of its controllers. Rules ask this lookup rather
than ``get_jurisdiction`` so an unknown pack id is reported once (by ``unknown-jurisdiction``) and
skipped by every other rule instead of stopping the lint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from dataright.declarations.jurisdictions import Jurisdiction, get_jurisdiction
from dataright.declarations.schema import Declaration, Purpose
from dataright.errors import JurisdictionError

GDPR = "gdpr"
"""The root pack of the GDPR family; national packs (``gdpr-no``, ``gdpr-se``) extend it."""


class JurisdictionLookup:
    """The jurisdiction packs of a declaration's controllers, resolved once."""

    def __init__(self, declaration: Declaration, resolve: Callable[[str], Jurisdiction] = get_jurisdiction) -> None:
        self._declaration = declaration
        self._resolve = resolve
        self._packs: dict[str, Jurisdiction | None] = {}

    def get(self, pack_id: str) -> Jurisdiction | None:
        """The pack with this id, or None when no pack has it."""
        if pack_id not in self._packs:
            try:
                self._packs[pack_id] = self._resolve(pack_id)
            except JurisdictionError:
                self._packs[pack_id] = None
        return self._packs[pack_id]

    def of_controller(self, controller_id: str) -> Jurisdiction | None:
        controller = self._declaration.controller_by_id.get(controller_id)
        return None if controller is None else self.get(controller.jurisdiction)

    def of_controllers(self, controller_ids: Iterable[str]) -> list[Jurisdiction]:
        """The known packs of these controllers, each once, in the controllers' order."""
        out: dict[str, Jurisdiction] = {}
        for controller_id in controller_ids:
            pack = self.of_controller(controller_id)
            if pack is not None:
                out.setdefault(pack.id, pack)
        return list(out.values())

    def of_purpose(self, purpose: Purpose) -> list[Jurisdiction]:
        return self.of_controllers(purpose.controllers)

    def of_recipient(self, recipient_id: str) -> list[Jurisdiction]:
        """The packs of the controllers whose purposes send data to this system or recipient."""
        return self.of_controllers(
            c for p in self._declaration.purposes if recipient_id in p.recipients for c in p.controllers
        )

    def law(self, pack: Jurisdiction) -> str:
        """The root of the pack's ``extends`` chain: ``gdpr`` for ``gdpr-no``."""
        seen = {pack.id}
        while pack.extends is not None and pack.extends not in seen:
            parent = self.get(pack.extends)
            if parent is None:
                break
            seen.add(parent.id)
            pack = parent
        return pack.id

    def governed_by(self, controller_ids: Iterable[str], law: str) -> list[Jurisdiction]:
        """The packs of these controllers that belong to ``law`` (e.g. every GDPR pack)."""
        return [pack for pack in self.of_controllers(controller_ids) if self.law(pack) == law]

    def all_controller_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self._declaration.controllers)


_BARE_ARTICLE = re.compile(r"^(?:Art\.|Arts\.|s\.|ss\.|Chapter|First Schedule|Part)")


def cite(pack: Jurisdiction, reference: str) -> str:
    """A pack's reference with its law's short name: ``Art. 12(3)`` → ``GDPR Art. 12(3)``.

    References that already name their act (``personopplysningsloven § 5``) are left alone.
    """
    if not _BARE_ARTICLE.match(reference):
        return reference
    short = pack.law_short.get("en") or next(iter(pack.law_short.values()))
    return f"{short} {reference}"
