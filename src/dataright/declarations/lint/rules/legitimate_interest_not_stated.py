"""The notice must say which legitimate interest is pursued."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis


class LegitimateInterestNotStated(Rule):
    id = "legitimate-interest-not-stated"
    severity = Severity.error
    reference = "GDPR Art. 13(1)(d), 14(2)(b)"
    summary = "A purpose on legitimate interests states the interest (legitimate_interest)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if (
                purpose.legal_basis == LegalBasis.legitimate_interests
                and purpose.legitimate_interest is None
                and jurisdictions.governed_by(purpose.controllers, GDPR)
            ):
                yield self.finding(
                    ("purposes", i, "legitimate_interest"),
                    f"purpose {purpose.id!r} relies on legitimate interests but does not state the interest "
                    "(legitimate_interest)",
                )
