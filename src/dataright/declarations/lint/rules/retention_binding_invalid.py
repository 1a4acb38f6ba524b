"""The sweep cannot run a rule it cannot resolve."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.retention_sweep import sweep_findings
from dataright.declarations.schema import Declaration


class RetentionBindingInvalid(Rule):
    id = "retention-binding-invalid"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(e), 17(3)(b); PDPA s. 25"
    summary = (
        "A table's retention rule names a declared rule with an action, declared fields, a one-column key "
        "and no reference cycle."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        yield from sweep_findings(self, declaration, "binding")
