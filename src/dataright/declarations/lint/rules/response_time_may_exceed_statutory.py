"""A controller's own period in days can end after the law's period in months (30 days vs one month
from 1 February). The law's deadline still binds, so deadlines must be computed as the earlier one."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.deadlines import overrun
from dataright.declarations.lint.paths import rights_path
from dataright.declarations.lint.rules.response_time_exceeds_statutory import own_and_statutory
from dataright.declarations.schema import Declaration


class ResponseTimeMayExceedStatutory(Rule):
    id = "response-time-may-exceed-statutory"
    severity = Severity.warning
    reference = "GDPR Art. 12(3); PDPA s. 21-22"
    summary = "A controller's own response time or extension does not end after the statutory one on some dates."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for controller_id, field, own, statutory, reference in own_and_statutory(declaration, jurisdictions):
            result = overrun(own, statutory)
            if result.ever and not result.always and result.first is not None:
                start = result.first
                yield self.finding(
                    rights_path(declaration, controller_id, field),
                    f"controller {controller_id!r} declares {field} {own}, which ends after the statutory "
                    f"{statutory} for some start dates (from {start:%Y-%m-%d}: {own.after(start):%Y-%m-%d} instead of "
                    f"{statutory.after(start):%Y-%m-%d}); the earlier deadline applies",
                    reference=reference,
                )
