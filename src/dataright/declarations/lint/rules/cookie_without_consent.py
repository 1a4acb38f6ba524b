"""Storing or reading anything on a user's device needs consent unless strictly necessary for the
service the user asked for; that consent is a consent-based purpose the banner asks for."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import CookieCategory, Declaration, LegalBasis


class CookieWithoutConsent(Rule):
    id = "cookie-without-consent"
    severity = Severity.error
    reference = "ePrivacy Directive Art. 5(3), with consent as defined in GDPR Art. 4(11) and 7"
    summary = "A cookie that is not strictly necessary names a consent-based purpose (consent_purpose)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        everyone = jurisdictions.all_controller_ids()
        for i, cookie in enumerate(declaration.cookies):
            if cookie.category == CookieCategory.strictly_necessary:
                continue
            if not jurisdictions.governed_by(cookie.controllers or everyone, GDPR):
                continue
            if cookie.consent_purpose is None:
                yield self.finding(
                    ("cookies", i, "consent_purpose"),
                    f"{cookie.category} cookie {cookie.name!r} is not strictly necessary but names no consent "
                    "purpose (consent_purpose)",
                )
                continue
            purpose = declaration.purpose_by_id.get(cookie.consent_purpose)
            if purpose is not None and purpose.legal_basis != LegalBasis.consent:
                yield self.finding(
                    ("cookies", i, "consent_purpose"),
                    f"cookie {cookie.name!r} is set under purpose {purpose.id!r}, which relies on "
                    f"{purpose.legal_basis or 'no legal basis'}, not consent",
                )
