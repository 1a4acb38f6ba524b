"""Data is kept no longer than its purpose needs, and the notice says for how long."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration


class PurposeWithoutRetention(Rule):
    id = "purpose-without-retention"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(e), 13(2)(a); PDPA s. 25"
    summary = "Every purpose names the retention rule its data categories are kept under (retention)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.retention is None:
                categories = ", ".join(purpose.data_categories)
                yield self.finding(
                    ("purposes", i, "retention"),
                    f"purpose {purpose.id!r} processes {categories} with no retention rule (retention)",
                )
