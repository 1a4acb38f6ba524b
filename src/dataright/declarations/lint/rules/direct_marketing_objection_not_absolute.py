"""An objection to direct marketing always wins: no balancing test, no compelling grounds."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis


class DirectMarketingObjectionNotAbsolute(Rule):
    id = "direct-marketing-objection-not-absolute"
    severity = Severity.error
    reference = "GDPR Art. 21(2)-(3)"
    summary = "A direct-marketing purpose on legitimate interests makes objection absolute (objection.absolute)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if (
                purpose.direct_marketing
                and purpose.legal_basis == LegalBasis.legitimate_interests
                and purpose.objection is not None
                and not purpose.objection.absolute
                and jurisdictions.governed_by(purpose.controllers, GDPR)
            ):
                yield self.finding(
                    ("purposes", i, "objection", "absolute"),
                    f"purpose {purpose.id!r} is direct marketing on legitimate interests, so an objection must end "
                    "the processing for that purpose without exception (objection.absolute: true)",
                )
