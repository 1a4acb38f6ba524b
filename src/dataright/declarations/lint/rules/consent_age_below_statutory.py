"""A declared consent age below the statutory one is overridden by the law; the notice would mislead.

The stricter age wins (``Jurisdiction.consent_age``), so a higher own age is fine and a lower one
is reported as a warning: the engine applies the statutory age, not the declared one.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup, cite
from dataright.declarations.lint.paths import rights_path
from dataright.declarations.schema import Declaration


class ConsentAgeBelowStatutory(Rule):
    id = "consent-age-below-statutory"
    severity = Severity.warning
    reference = "GDPR Art. 8(1)"
    summary = "A controller's own consent age is not lower than its jurisdiction's (which would apply anyway)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for controller in declaration.controllers:
            own = declaration.rights_of(controller.id).consent_age
            pack = jurisdictions.of_controller(controller.id)
            if own is None or pack is None or own >= pack.child_consent_age:
                continue
            yield self.finding(
                rights_path(declaration, controller.id, "consent_age"),
                f"controller {controller.id!r} declares consent age {own}, below the {pack.child_consent_age} "
                f"{pack.id} requires; {pack.child_consent_age} applies",
                reference=cite(pack, pack.child_consent_reference),
            )
