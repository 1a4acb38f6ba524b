"""A controller or legal hold names a jurisdiction pack that does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.jurisdictions import all_jurisdictions
from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration


class UnknownJurisdiction(Rule):
    id = "unknown-jurisdiction"
    severity = Severity.error
    reference = "GDPR Art. 3; PDPA s. 4 (which law applies)"
    summary = "Every controller (and legal hold) names a known jurisdiction pack, so its law can be applied."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        known = ", ".join(sorted(all_jurisdictions()))
        for i, controller in enumerate(declaration.controllers):
            if jurisdictions.get(controller.jurisdiction) is None:
                yield self.finding(
                    ("controllers", i, "jurisdiction"),
                    f"controller {controller.id!r} names unknown jurisdiction {controller.jurisdiction!r}; "
                    f"known: {known}. No rule that depends on its law was checked for it",
                )
        for i, hold in enumerate(declaration.legal_holds):
            if hold.jurisdiction is not None and jurisdictions.get(hold.jurisdiction) is None:
                yield self.finding(
                    ("legal_holds", i, "jurisdiction"),
                    f"legal hold {hold.id!r} names unknown jurisdiction {hold.jurisdiction!r}; known: {known}",
                )
