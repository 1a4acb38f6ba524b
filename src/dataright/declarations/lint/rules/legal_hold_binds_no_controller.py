"""A purpose's legal hold binds at least one of the purpose's controllers.

A hold scoped to some controllers (a company's own books) keeps nothing for the others: naming it on a
purpose none of whose controllers it binds promises a retention that no law imposes on them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration


class LegalHoldBindsNoController(Rule):
    id = "legal-hold-binds-no-controller"
    severity = Severity.warning
    reference = "GDPR Art. 17(3)(b), 6(1)(c)"
    summary = "A legal hold named on a purpose binds at least one of that purpose's controllers (controllers)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            for j, hold_id in enumerate(purpose.legal_holds):
                hold = declaration.hold_by_id[hold_id]
                if not any(hold.binds(c) for c in purpose.controllers):
                    yield self.finding(
                        ("purposes", i, "legal_holds", j),
                        f"legal hold {hold.id!r} binds {', '.join(hold.controllers)}, none of the controllers "
                        f"of purpose {purpose.id!r} ({', '.join(purpose.controllers)})",
                    )
