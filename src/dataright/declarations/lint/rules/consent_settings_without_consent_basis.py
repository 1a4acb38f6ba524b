"""``consent`` settings (withdrawal methods, lifetime) on a purpose that does not rely on consent.

They promise a withdrawal that would not stop the processing and a lifetime nothing enforces, and
suggest to the reader that the processing is consent-based when it is not.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.rules.consent_without_withdrawal import CONSENT_BASES
from dataright.declarations.schema import Declaration


class ConsentSettingsWithoutConsentBasis(Rule):
    id = "consent-settings-without-consent-basis"
    severity = Severity.warning
    reference = "GDPR Art. 7, 13(1)(c)"
    summary = "Only a consent-based purpose carries consent settings (consent.withdrawal, consent.lifetime)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.consent is not None and purpose.legal_basis not in CONSENT_BASES:
                yield self.finding(
                    ("purposes", i, "consent"),
                    f"purpose {purpose.id!r} relies on {purpose.legal_basis or 'no legal basis'}, so its consent "
                    "settings have no effect and misdescribe the processing",
                )
