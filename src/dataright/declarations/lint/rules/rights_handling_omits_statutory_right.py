"""A controller's rights handling leaves out a right its law grants; the pack's ``rights`` list
is the law's catalogue, and a controller may offer more but not fewer."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.paths import rights_path
from dataright.declarations.schema import Declaration


class RightsHandlingOmitsStatutoryRight(Rule):
    id = "rights-handling-omits-statutory-right"
    severity = Severity.error
    reference = "GDPR Art. 12(2), 13(2)(b)-(d), 15-22, 77; PDPA s. 16, 21-22"
    summary = "A controller's rights handling lists every right its jurisdiction grants."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for controller in declaration.controllers:
            pack = jurisdictions.of_controller(controller.id)
            if pack is None:
                continue
            offered = set(declaration.rights_of(controller.id).rights)
            missing = [str(r) for r in pack.rights if r not in offered]
            if missing:
                yield self.finding(
                    rights_path(declaration, controller.id, "rights"),
                    f"controller {controller.id!r} does not offer {', '.join(missing)}, which {pack.id} grants",
                )
