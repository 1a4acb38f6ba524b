"""A transfer claims adequacy for a country the controller's law has no adequacy decision for.

Partial decisions exist (the EU-US Data Privacy Framework covers certified organisations only),
so the claim is a warning and is accepted when the entry names its basis in ``reference``.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.jurisdictions import Jurisdiction
from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup, cite
from dataright.declarations.loader import PathT
from dataright.declarations.schema import Declaration, Transfer, TransferMechanism


class AdequacyNotRecognised(Rule):
    id = "adequacy-not-recognised"
    severity = Severity.warning
    reference = "GDPR Art. 45"
    summary = "A transfer on adequacy goes to a country the pack lists as adequate, or names its decision."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        entries: list[tuple[PathT, str, Transfer, list[Jurisdiction]]] = []
        for i, system in enumerate(declaration.systems):
            packs = jurisdictions.of_recipient(system.id)
            entries += [
                (("systems", i, "transfers", t), f"system {system.id!r}", tr, packs)
                for t, tr in enumerate(system.transfers)
            ]
        for i, recipient in enumerate(declaration.recipients):
            packs = jurisdictions.of_recipient(recipient.id)
            entries += [
                (("recipients", i, "transfers", t), f"recipient {recipient.id!r}", tr, packs)
                for t, tr in enumerate(recipient.transfers)
            ]
        for i, purpose in enumerate(declaration.purposes):
            packs = jurisdictions.of_purpose(purpose)
            entries += [
                (("purposes", i, "transfers", t), f"purpose {purpose.id!r}", tr, packs)
                for t, tr in enumerate(purpose.transfers)
            ]
        for path, what, transfer, packs in entries:
            if transfer.mechanism != TransferMechanism.adequacy or transfer.reference:
                continue
            for pack in packs:
                if pack.needs_transfer_mechanism(transfer.country):
                    yield self.finding(
                        (*path, "mechanism"),
                        f"{what} claims adequacy for {transfer.country}, which {pack.id} does not list as adequate; "
                        "name the adequacy decision in `reference` or declare another mechanism",
                        reference=cite(pack, pack.transfer_reference),
                    )
                    break
