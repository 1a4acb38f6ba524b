"""Personal data leaving the home region for a country without adequacy needs a transfer mechanism.

A purpose sends data to each system and recipient it names. Every country such a system processes
or stores data in, and a recipient's country, is checked against the pack of each of the purpose's
controllers; the mechanism may be declared on the system (or recipient) or on the purpose. A
purpose's own ``transfers`` entries must name a mechanism where one is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from dataright.declarations.jurisdictions import Jurisdiction
from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup, cite
from dataright.declarations.loader import PathT
from dataright.declarations.schema import Declaration, Recipient, System, Transfer, TransferMechanism


@dataclass
class _Gap:
    pack: Jurisdiction
    purposes: list[str] = field(default_factory=list)


class TransferWithoutMechanism(Rule):
    id = "transfer-without-mechanism"
    severity = Severity.error
    reference = "GDPR Art. 44-46; PDPA s. 26"
    summary = (
        "Each country outside the home region without adequacy that a recipient system processes or stores data in "
        "has a transfer mechanism, on the system or the purpose."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        gaps: dict[tuple[str, str, str, str], _Gap] = {}  # (section, id, country, pack) -> purposes
        for i, purpose in enumerate(declaration.purposes):
            packs = jurisdictions.of_purpose(purpose)
            for t, transfer in enumerate(purpose.transfers):
                for pack in packs:
                    if pack.needs_transfer_mechanism(transfer.country) and not self._counts(
                        transfer, pack, jurisdictions
                    ):
                        yield self.finding(
                            ("purposes", i, "transfers", t, "mechanism"),
                            f"purpose {purpose.id!r} transfers data to {transfer.country} {self._why(pack, transfer)}",
                            reference=cite(pack, pack.transfer_reference),
                        )
                        break
            for recipient_id in purpose.recipients:
                target: System | Recipient | None = declaration.system_by_id.get(recipient_id)
                section = "systems"
                if target is None:
                    target, section = declaration.recipient_by_id.get(recipient_id), "recipients"
                if target is None:
                    continue
                countries = target.countries if isinstance(target, System) else (target.country,)
                for country in countries:
                    if country is None:
                        continue
                    for pack in packs:
                        if not pack.needs_transfer_mechanism(country):
                            continue
                        declared = (*target.transfers, *purpose.transfers)
                        if any(tr.country == country and self._counts(tr, pack, jurisdictions) for tr in declared):
                            continue
                        gap = gaps.setdefault((section, target.id, country, pack.id), _Gap(pack))
                        gap.purposes.append(purpose.id)
        for (section, target_id, country, _), gap in gaps.items():
            yield self._gap_finding(declaration, section, target_id, country, gap, jurisdictions)

    @staticmethod
    def _counts(transfer: Transfer, pack: Jurisdiction, jurisdictions: JurisdictionLookup) -> bool:
        """A mechanism the pack's law recognises: the PDPA's comparable protection is not a GDPR safeguard."""
        if transfer.mechanism is None:
            return False
        return not (transfer.mechanism == TransferMechanism.comparable_protection and jurisdictions.law(pack) == GDPR)

    @staticmethod
    def _why(pack: Jurisdiction, transfer: Transfer) -> str:
        if transfer.mechanism is None:
            return f"(outside {pack.id}'s home region, no adequacy) but names no mechanism"
        return f"under {transfer.mechanism}, which {pack.law_short['en']} does not recognise as a transfer mechanism"

    def _gap_finding(
        self,
        declaration: Declaration,
        section: str,
        target_id: str,
        country: str,
        gap: _Gap,
        jurisdictions: JurisdictionLookup,
    ) -> Finding:
        purposes = ", ".join(repr(p) for p in dict.fromkeys(gap.purposes))
        pack = gap.pack
        if section == "systems":
            index = next(i for i, s in enumerate(declaration.systems) if s.id == target_id)
            system = declaration.systems[index]
            verbs = [
                verb
                for verb, countries in (
                    ("processes", system.processing_countries),
                    ("stores", system.storage_countries),
                )
                if country in countries
            ]
            path = self._system_path(index, system, country)
            subject = f"system {target_id!r} {' and '.join(verbs)} data in {country}"
        else:
            index = next(i for i, r in enumerate(declaration.recipients) if r.id == target_id)
            recipient = declaration.recipients[index]
            entry = next((t for t, tr in enumerate(recipient.transfers) if tr.country == country), None)
            path = (
                ("recipients", index, "transfers", entry, "mechanism")
                if entry is not None
                else (
                    "recipients",
                    index,
                    "country",
                )
            )
            subject = f"recipient {target_id!r} is in {country}"
        return self.finding(
            path,
            f"{subject}, outside {pack.id}'s home region and without an adequacy decision, but neither it nor "
            f"purpose {purposes} declares a transfer mechanism {pack.law_short['en']} recognises for {country}",
            reference=cite(pack, pack.transfer_reference),
        )

    @staticmethod
    def _system_path(index: int, system: System, country: str) -> PathT:
        entry = next((t for t, tr in enumerate(system.transfers) if tr.country == country), None)
        if entry is not None:
            return ("systems", index, "transfers", entry, "mechanism")
        if country in system.processing_countries:
            return ("systems", index, "processing_countries", system.processing_countries.index(country))
        return ("systems", index, "storage_countries", system.storage_countries.index(country))
