"""A decision based solely on automated processing with legal or similarly significant effect is
allowed only when necessary for a contract, authorised by law, or based on explicit consent."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis

ART_22_2 = frozenset({LegalBasis.contract, LegalBasis.legal_obligation, LegalBasis.public_task, LegalBasis.consent})
"""Bases under which an Art. 22(2) exception can hold: (a) contract, (b) authorised by law, (c) explicit consent."""


class AutomatedDecisionWithoutBasis(Rule):
    id = "automated-decision-without-basis"
    severity = Severity.error
    reference = "GDPR Art. 22(1)-(2)"
    summary = "A purpose making automated decisions with legal effect relies on contract, law or consent."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            decision = purpose.automated_decision_making
            if (
                decision is not None
                and decision.legal_effect
                and purpose.legal_basis is not None
                and purpose.legal_basis not in ART_22_2
                and jurisdictions.governed_by(purpose.controllers, GDPR)
            ):
                yield self.finding(
                    ("purposes", i, "automated_decision_making", "legal_effect"),
                    f"purpose {purpose.id!r} makes automated decisions with legal effect on "
                    f"{purpose.legal_basis}; Art. 22(2) allows them only when necessary for a contract, "
                    "authorised by law, or on explicit consent",
                )
