"""The sweep finds due rows by the date in this column; a column the dataset does not declare cannot be
checked against the live table."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.retention_sweep import sweep_findings
from dataright.declarations.schema import Declaration


class RetentionTriggerColumnUndeclared(Rule):
    id = "retention-trigger-column-undeclared"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(e), 17(3)(b); PDPA s. 25"
    summary = "The column a table's retention rule runs from is a declared field of that table."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        yield from sweep_findings(self, declaration, "column")
