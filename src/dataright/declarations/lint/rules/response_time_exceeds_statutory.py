"""A controller's own response time (or extension) is longer than the law's, from every start date."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup, cite
from dataright.declarations.lint.deadlines import overrun
from dataright.declarations.lint.paths import rights_path
from dataright.declarations.periods import Period
from dataright.declarations.schema import Declaration


def own_and_statutory(
    declaration: Declaration, jurisdictions: JurisdictionLookup
) -> Iterator[tuple[str, str, Period, Period, str]]:
    """(controller, field, own period, statutory period, reference) for each period a controller declares."""
    for controller in declaration.controllers:
        pack = jurisdictions.of_controller(controller.id)
        if pack is None:
            continue
        rights = declaration.rights_of(controller.id)
        reference = cite(pack, pack.response.reference)
        if rights.response_time is not None:
            yield controller.id, "response_time", rights.response_time, pack.response.deadline, reference
        if rights.extension is not None and pack.response.extension is not None:
            yield controller.id, "extension", rights.extension, pack.response.extension, reference


class ResponseTimeExceedsStatutory(Rule):
    id = "response-time-exceeds-statutory"
    severity = Severity.error
    reference = "GDPR Art. 12(3); PDPA s. 21-22"
    summary = "A controller's own response time and extension are not longer than its jurisdiction's."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for controller_id, field, own, statutory, reference in own_and_statutory(declaration, jurisdictions):
            if overrun(own, statutory).always:
                yield self.finding(
                    rights_path(declaration, controller_id, field),
                    f"controller {controller_id!r} declares {field} {own}, longer than the statutory {statutory}",
                    reference=reference,
                )
