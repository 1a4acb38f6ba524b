"""Every processing purpose needs a lawful basis."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration


class PurposeWithoutLegalBasis(Rule):
    id = "purpose-without-legal-basis"
    severity = Severity.error
    reference = "GDPR Art. 6(1); PDPA s. 13"
    summary = "A purpose declares the legal basis it relies on."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.legal_basis is None:
                yield self.finding(
                    ("purposes", i, "legal_basis"),
                    f"purpose {purpose.id!r} names no legal basis; processing is lawful only on one",
                )
