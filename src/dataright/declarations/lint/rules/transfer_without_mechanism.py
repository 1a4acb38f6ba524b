"""Personal data leaving the home region for a country without adequacy needs a transfer mechanism.

A purpose sends data to each system and recipient it names. Every country such a system processes
or stores data in, and a recipient's country, is checked against the pack of each of the purpose's
controllers; the mechanism may be declared on the system (or recipient) or on the purpose. A
purpose's own ``transfers`` entries must name a mechanism where one is needed.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.jurisdictions import Jurisdiction
from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup, cite
from dataright.declarations.loader import PathT
from dataright.declarations.schema import Declaration, Purpose, Recipient, System, Transfer, TransferMechanism

_Gaps = dict[tuple[PathT, str, str], tuple[str, Jurisdiction, list[str]]]
"""(path, country, pack id) -> (who sends it there, pack, purposes that send data to it)."""


def recognised(transfer: Transfer, pack: Jurisdiction, jurisdictions: JurisdictionLookup) -> bool:
    """A mechanism the pack's law recognises: the PDPA's comparable protection is not a GDPR safeguard."""
    if transfer.mechanism is None:
        return False
    return not (transfer.mechanism == TransferMechanism.comparable_protection and jurisdictions.law(pack) == GDPR)


class TransferWithoutMechanism(Rule):
    id = "transfer-without-mechanism"
    severity = Severity.error
    reference = "GDPR Art. 44-46; PDPA s. 26"
    summary = (
        "Each country outside the home region without adequacy that a recipient system processes or stores data in "
        "has a transfer mechanism, on the system or the purpose."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        gaps: _Gaps = {}
        for i, purpose in enumerate(declaration.purposes):
            packs = jurisdictions.of_purpose(purpose)
            yield from self._purpose_transfers(i, purpose, packs, jurisdictions)
            for recipient_id in purpose.recipients:
                self._recipient_gaps(declaration, recipient_id, purpose, packs, jurisdictions, gaps)
        for (path, country, _), (subject, pack, purposes) in gaps.items():
            names = list(dict.fromkeys(purposes))
            senders = ("purpose " if len(names) == 1 else "purposes ") + ", ".join(repr(p) for p in names)
            yield self.finding(
                path,
                f"{subject}, outside {pack.id}'s home region and without an adequacy decision, but neither it nor "
                f"{senders} declares a transfer mechanism {pack.law_short['en']} recognises for {country}",
                reference=cite(pack, pack.transfer_reference),
            )

    def _purpose_transfers(
        self, index: int, purpose: Purpose, packs: list[Jurisdiction], jurisdictions: JurisdictionLookup
    ) -> Iterator[Finding]:
        for t, transfer in enumerate(purpose.transfers):
            pack = next(
                (
                    p
                    for p in packs
                    if p.needs_transfer_mechanism(transfer.country) and not recognised(transfer, p, jurisdictions)
                ),
                None,
            )
            if pack is None:
                continue
            why = (
                f"(outside {pack.id}'s home region, no adequacy) but names no mechanism"
                if transfer.mechanism is None
                else f"under {transfer.mechanism}, which {pack.law_short['en']} does not recognise as a mechanism"
            )
            yield self.finding(
                ("purposes", index, "transfers", t, "mechanism"),
                f"purpose {purpose.id!r} transfers data to {transfer.country} {why}",
                reference=cite(pack, pack.transfer_reference),
            )

    @staticmethod
    def _recipient_gaps(
        declaration: Declaration,
        recipient_id: str,
        purpose: Purpose,
        packs: list[Jurisdiction],
        jurisdictions: JurisdictionLookup,
        gaps: _Gaps,
    ) -> None:
        """Record each country the recipient takes the purpose's data to without a recognised mechanism."""
        target: System | Recipient | None = declaration.system_by_id.get(recipient_id)
        if target is None:
            target = declaration.recipient_by_id.get(recipient_id)
        if target is None:
            return
        countries = target.countries if isinstance(target, System) else (target.country,)
        declared = (*target.transfers, *purpose.transfers)
        for country in countries:
            if country is None:
                continue
            for pack in packs:
                if pack.needs_transfer_mechanism(country) and not any(
                    t.country == country and recognised(t, pack, jurisdictions) for t in declared
                ):
                    path, subject = _where(declaration, target, country)
                    gaps.setdefault((path, country, pack.id), (subject, pack, []))[2].append(purpose.id)


def _where(declaration: Declaration, target: System | Recipient, country: str) -> tuple[PathT, str]:
    """The place to report a missing mechanism (the country's transfer entry, else the country) and its subject."""
    if isinstance(target, System):
        index = declaration.systems.index(target)
        base: PathT = ("systems", index)
        verbs = [
            verb
            for verb, where in (("processes", target.processing_countries), ("stores", target.storage_countries))
            if country in where
        ]
        subject = f"system {target.id!r} {' and '.join(verbs)} data in {country}"
        fallback: PathT = (
            (*base, "processing_countries", target.processing_countries.index(country))
            if country in target.processing_countries
            else (*base, "storage_countries", target.storage_countries.index(country))
        )
    else:
        base = ("recipients", declaration.recipients.index(target))
        subject = f"recipient {target.id!r} is in {country}"
        fallback = (*base, "country")
    entry = next((t for t, transfer in enumerate(target.transfers) if transfer.country == country), None)
    return ((*base, "transfers", entry, "mechanism") if entry is not None else fallback), subject
