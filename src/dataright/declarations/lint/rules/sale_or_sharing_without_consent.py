"""Selling or sharing personal data with third parties (ad networks, data brokers) on a basis
other than consent.

Not necessary for a contract with the person, and hard to rest on legitimate interests: the CJEU
held in C-252/21 (Meta Platforms) that personalised advertising goes beyond what a user can
reasonably expect, and sharing through cookies or pixels needs consent under ePrivacy Art. 5(3)
anyway. Some list-based matching through processors is defended on legitimate interests, so this
is a warning: it asks for the balancing test to be written down, not for a fixed answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis


class SaleOrSharingWithoutConsent(Rule):
    id = "sale-or-sharing-without-consent"
    severity = Severity.warning
    reference = "GDPR Art. 6(1)(a), 6(1)(f); CJEU C-252/21 Meta Platforms"
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
                    "under the GDPR such sharing normally needs consent",
                )
