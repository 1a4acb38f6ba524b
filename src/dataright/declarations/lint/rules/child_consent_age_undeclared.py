"""A controller that processes children's data says from which age a child consents alone."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.paths import rights_path
from dataright.declarations.schema import Declaration


class ChildConsentAgeUndeclared(Rule):
    id = "child-consent-age-undeclared"
    severity = Severity.warning
    reference = "GDPR Art. 8(1), 12(1)"
    summary = "A controller whose purposes involve children declares the consent age in its rights handling."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for controller in declaration.controllers:
            if declaration.rights_of(controller.id).consent_age is not None:
                continue
            children = [p.id for p in declaration.purposes_of(controller.id) if declaration.is_child_purpose(p)]
            if not children:
                continue
            pack = jurisdictions.of_controller(controller.id)
            statutory = f"; {pack.id} sets {pack.child_consent_age} ({pack.child_consent_reference})" if pack else ""
            yield self.finding(
                rights_path(declaration, controller.id, "consent_age"),
                f"controller {controller.id!r} processes children's data ({', '.join(children)}) but declares no "
                f"consent age (rights.consent_age){statutory}",
            )
