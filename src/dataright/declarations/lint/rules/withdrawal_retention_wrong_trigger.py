"""The retention rule a purpose applies after a consent withdrawal runs from the withdrawal."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration, Trigger


class WithdrawalRetentionWrongTrigger(Rule):
    id = "withdrawal-retention-wrong-trigger"
    severity = Severity.warning
    reference = "GDPR Art. 7(3), 17(1)(b)"
    summary = "consent.after_withdrawal names a retention rule whose trigger is consent_withdrawal."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            after = purpose.consent.after_withdrawal if purpose.consent else None
            rule = declaration.retention_by_id.get(after) if after else None
            if rule is not None and rule.trigger is not Trigger.consent_withdrawal:
                yield self.finding(
                    ("purposes", i, "consent", "after_withdrawal"),
                    f"retention rule {rule.id!r} runs from {rule.trigger}, not from the consent withdrawal, "
                    f"so purpose {purpose.id!r} does not say how soon data goes once consent is withdrawn",
                )
