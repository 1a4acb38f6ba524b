"""Consent must be as easy to withdraw as to give, so a consent-based purpose names how."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis

CONSENT_BASES = frozenset({LegalBasis.consent, LegalBasis.deemed_consent})
"""PDPA s. 16 lets a person withdraw consent "given, or deemed to have been given"."""


class ConsentWithoutWithdrawal(Rule):
    id = "consent-without-withdrawal"
    severity = Severity.error
    reference = "GDPR Art. 7(3); PDPA s. 16"
    summary = "A consent-based purpose names at least one way to withdraw consent (consent.withdrawal)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.legal_basis in CONSENT_BASES and (purpose.consent is None or not purpose.consent.withdrawal):
                yield self.finding(
                    ("purposes", i, "consent", "withdrawal"),
                    f"purpose {purpose.id!r} relies on {purpose.legal_basis} but names no way to withdraw it "
                    "(consent.withdrawal)",
                )
