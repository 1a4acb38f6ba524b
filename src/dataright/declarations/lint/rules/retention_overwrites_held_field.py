"""What a legal hold keeps must stay as it is until the hold runs out."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.retention_sweep import sweep_findings
from dataright.declarations.schema import Declaration


class RetentionOverwritesHeldField(Rule):
    id = "retention-overwrites-held-field"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(e), 17(3)(b); PDPA s. 25"
    summary = "A retention rule never anonymises or pseudonymises a field a legal hold keeps."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        yield from sweep_findings(self, declaration, "hold")
