"""A retention rule says what happens when its period ends: delete, anonymise or pseudonymise."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration


class RetentionWithoutAction(Rule):
    id = "retention-without-action"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(e); PDPA s. 25"
    summary = "Every retention rule names its action at the end of the period (action)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, rule in enumerate(declaration.retention_rules):
            if rule.action is None:
                yield self.finding(
                    ("retention_rules", i, "action"),
                    f"retention rule {rule.id!r} does not say what happens after {rule.duration} "
                    "(action: delete, anonymise or pseudonymise)",
                )
