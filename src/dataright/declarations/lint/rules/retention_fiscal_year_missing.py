"""Without the controller's financial year the end of it is unknown, and so is the day the data goes."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.retention_sweep import sweep_findings
from dataright.declarations.schema import Declaration


class RetentionFiscalYearMissing(Rule):
    id = "retention-fiscal-year-missing"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(e), 17(3)(b); PDPA s. 25"
    summary = (
        "A retention rule or legal hold that runs from the end of the financial year has the controller's "
        "fiscal_year_end."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        yield from sweep_findings(self, declaration, "fiscal")
