"""Processing by a processor is governed by a contract (a data processing agreement)."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, Role


def controllers_using(declaration: Declaration, system_id: str) -> tuple[str, ...]:
    """Controllers of the purposes and cookies that send data to, or take data from, a system.

    A system nothing refers to is taken to serve every controller.
    """
    users: dict[str, None] = {}
    for purpose in declaration.purposes:
        if system_id in purpose.recipients or any(s.system == system_id for s in purpose.sources):
            users.update(dict.fromkeys(purpose.controllers))
    all_ids = tuple(c.id for c in declaration.controllers)
    for cookie in declaration.cookies:
        if cookie.system == system_id:
            users.update(dict.fromkeys(cookie.controllers or all_ids))
    return tuple(users) or all_ids


class ProcessorWithoutDpa(Rule):
    id = "processor-without-dpa"
    severity = Severity.error
    reference = "GDPR Art. 28(3)"
    summary = "Every system with role processor names its data processing agreement (dpa)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, system in enumerate(declaration.systems):
            if system.role != Role.processor or system.dpa is not None:
                continue
            if jurisdictions.governed_by(controllers_using(declaration, system.id), GDPR):
                yield self.finding(
                    ("systems", i, "dpa"),
                    f"processor {system.id!r} has no data processing agreement (dpa)",
                )
