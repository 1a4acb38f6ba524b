"""Selling or sharing personal data with third parties for their own ends (such as ad targeting)
needs consent under the GDPR: it is not necessary for a contract with the person, and the CJEU
held in C-252/21 (Meta Platforms) that such processing goes beyond what a person reasonably
expects, so the controller's interests do not override theirs."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis


class SaleOrSharingWithoutConsent(Rule):
    id = "sale-or-sharing-without-consent"
    severity = Severity.error
    reference = "GDPR Art. 6(1)(a); CJEU C-252/21 Meta Platforms"
    summary = "Under the GDPR a purpose that sells or shares personal data relies on consent."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if (
                purpose.sale_or_sharing
                and purpose.legal_basis is not None
                and purpose.legal_basis != LegalBasis.consent
                and jurisdictions.governed_by(purpose.controllers, GDPR)
            ):
                yield self.finding(
                    ("purposes", i, "legal_basis"),
                    f"purpose {purpose.id!r} sells or shares personal data on {purpose.legal_basis}; "
                    "under the GDPR it needs consent",
                )
