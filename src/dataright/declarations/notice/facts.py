"""Facts both documents state the same way: which systems receive data, and which transfers leave the region.

Kept apart from the wording so the notice and the Art. 30 record cannot disagree about them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dataright.declarations.jurisdictions import Jurisdiction
from dataright.declarations.schema import (
    Declaration,
    Purpose,
    Recipient,
    System,
    Transfer,
    TransferMechanism,
)


@dataclass(frozen=True)
class TransferFact:
    """Data reaching ``country`` (ISO code) through ``via``, protected by ``mechanism`` (None: none declared)."""

    country: str
    via: System | Recipient | Purpose
    mechanism: TransferMechanism | None
    declared: Transfer | None


def systems_of(declaration: Declaration, purposes: Iterable[Purpose]) -> list[System]:
    """The systems the purposes name as recipients, in order of first mention."""
    keys = (r for p in purposes for r in p.recipients if r in declaration.system_by_id)
    return [declaration.system_by_id[k] for k in dict.fromkeys(keys)]


def recipients_of(declaration: Declaration, purposes: Iterable[Purpose]) -> list[Recipient]:
    """The recipient categories (not systems) the purposes name, in order of first mention."""
    keys = (r for p in purposes for r in p.recipients if r in declaration.recipient_by_id)
    return [declaration.recipient_by_id[k] for k in dict.fromkeys(keys)]


def third_country_transfers(
    pack: Jurisdiction,
    systems: Iterable[System],
    recipients: Iterable[Recipient],
    purposes: Iterable[Purpose],
) -> list[TransferFact]:
    """Every country outside the pack's home region that data reaches, once per (country, recipient).

    A declared ``Transfer`` supplies the mechanism; a country with an adequacy decision in the pack
    and no declared transfer is shown under adequacy; otherwise the mechanism is ``None`` (lint flags it).
    """
    found: dict[tuple[str, int], TransferFact] = {}

    def add(code: str, via: System | Recipient | Purpose, declared: tuple[Transfer, ...]) -> None:
        if code in pack.home_region or (code, id(via)) in found:
            return
        match = next((x for x in declared if x.country == code), None)
        mechanism = match.mechanism if match else None
        if mechanism is None and code in pack.adequate_countries:
            mechanism = TransferMechanism.adequacy
        found[(code, id(via))] = TransferFact(code, via, mechanism, match)

    for s in systems:
        for code in (*(x.country for x in s.transfers), *s.countries):
            add(code, s, s.transfers)
    for r in recipients:
        for code in (*(x.country for x in r.transfers), *((r.country,) if r.country else ())):
            add(code, r, r.transfers)
    for p in purposes:
        for x in p.transfers:
            add(x.country, p, p.transfers)
    return list(found.values())
