"""A controller's own response time is longer than the law's from every start date, or its response time and
extension together can end after the law's deadline and extension together."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup, cite
from dataright.declarations.lint.deadlines import chained, overrun
from dataright.declarations.lint.paths import rights_path
from dataright.declarations.periods import Period
from dataright.declarations.schema import Declaration


def own_and_statutory(
    declaration: Declaration, jurisdictions: JurisdictionLookup
) -> Iterator[tuple[str, str, Period, Period, str]]:
    """(controller, field, own period, statutory period, reference) for a controller's own response time."""
    for controller in declaration.controllers:
        pack = jurisdictions.of_controller(controller.id)
        if pack is None:
            continue
        rights = declaration.rights_of(controller.id)
        reference = cite(pack, pack.response.reference)
        if rights.response_time is not None:
            yield controller.id, "response_time", rights.response_time, pack.response.deadline, reference


class ResponseTimeExceedsStatutory(Rule):
    id = "response-time-exceeds-statutory"
    severity = Severity.error
    reference = "GDPR Art. 12(3); PDPA s. 21-22"
    summary = (
        "A controller's own response time is not longer than its jurisdiction's, and its response time and "
        "extension together never end after the law's deadline and extension together."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for controller_id, field, own, statutory, reference in own_and_statutory(declaration, jurisdictions):
            if overrun(own, statutory).always:
                yield self.finding(
                    rights_path(declaration, controller_id, field),
                    f"controller {controller_id!r} declares {field} {own}, longer than the statutory {statutory}",
                    reference=reference,
                )
        for controller in declaration.controllers:
            pack = jurisdictions.of_controller(controller.id)
            rights = declaration.rights_of(controller.id)
            if pack is None or rights.extension is None:
                continue
            law = pack.response
            if law.extension is None:
                yield self.finding(
                    rights_path(declaration, controller.id, "extension"),
                    f"controller {controller.id!r} declares extension {rights.extension}, but {pack.id} sets no "
                    "extension period: the person must be told within the deadline when the answer will come",
                    reference=cite(pack, law.reference),
                )
                continue
            # The controller's extension runs on from the day its own deadline ends; the law's months add up to
            # one period from receipt (one month and two more: three months, Regulation 1182/71 Art. 3(2)(c)).
            chain: tuple[Period, Period] = (rights.response_time or law.deadline, rights.extension)
            limit = law.deadline + law.extension
            result = overrun(chain, limit)
            if result.first is None:
                continue
            start = result.first
            yield self.finding(
                rights_path(declaration, controller.id, "extension"),
                f"controller {controller.id!r} declares response time {chain[0]} with extension {chain[1]}, which "
                f"together end after the statutory {law.deadline} with extension {law.extension} (from "
                f"{start:%Y-%m-%d}: {chained(chain, start):%Y-%m-%d} instead of {chained(limit, start):%Y-%m-%d})",
                reference=cite(pack, law.reference),
            )
