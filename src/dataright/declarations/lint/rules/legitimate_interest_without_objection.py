"""Processing on legitimate interests can be objected to; the purpose says how.

Whether the right to object exists is read from the controller's pack (its ``rights``), so the
rule follows the law as data: GDPR packs grant ``objection``, the PDPA pack does not.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis, Right


class LegitimateInterestWithoutObjection(Rule):
    id = "legitimate-interest-without-objection"
    severity = Severity.error
    reference = "GDPR Art. 21(1), 21(4)"
    summary = "A purpose on legitimate interests says how a person objects (objection.methods)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.legal_basis != LegalBasis.legitimate_interests or purpose.objection is not None:
                continue
            laws = [p for p in jurisdictions.of_purpose(purpose) if Right.objection in p.rights]
            if laws:
                yield self.finding(
                    ("purposes", i, "objection"),
                    f"purpose {purpose.id!r} relies on legitimate interests but declares no objection handling; "
                    f"{laws[0].law_short['en']} gives the right to object (objection.methods)",
                )
