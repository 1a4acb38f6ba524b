"""Controllers who jointly decide a processing set out their responsibilities in an arrangement.

A purpose with several controllers is joint processing. It is covered when an arrangement (the one
the purpose names in ``joint_arrangement``, or any listing the purpose) includes every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, JointArrangement


class JointProcessingWithoutArrangement(Rule):
    id = "joint-processing-without-arrangement"
    severity = Severity.error
    reference = "GDPR Art. 26(1)-(2)"
    summary = "A purpose with several controllers is covered by a joint arrangement that includes all of them."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if len(set(purpose.controllers)) < 2 or not jurisdictions.governed_by(purpose.controllers, GDPR):
                continue
            arrangements: dict[str, JointArrangement] = {
                a.id: a for a in declaration.joint_arrangements if purpose.id in a.purposes
            }
            named = declaration.arrangement_by_id.get(purpose.joint_arrangement or "")
            if named is not None:
                arrangements.setdefault(named.id, named)
            controllers = ", ".join(purpose.controllers)
            if not arrangements:
                yield self.finding(
                    ("purposes", i, "joint_arrangement"),
                    f"purpose {purpose.id!r} has several controllers ({controllers}) but no joint arrangement "
                    "(joint_arrangement)",
                )
                continue
            covered = {c for a in arrangements.values() for c in a.controllers}
            missing = [c for c in purpose.controllers if c not in covered]
            if missing:
                yield self.finding(
                    ("purposes", i, "controllers", purpose.controllers.index(missing[0])),
                    f"purpose {purpose.id!r} is processed by {', '.join(missing)}, which its joint arrangement "
                    f"({', '.join(arrangements)}) does not include",
                )
            if named is not None and purpose.id not in named.purposes:
                index = declaration.joint_arrangements.index(named)
                yield self.finding(
                    ("joint_arrangements", index, "purposes"),
                    f"joint arrangement {named.id!r} does not list purpose {purpose.id!r}, which names it",
                )
