"""Controllers who jointly decide a processing set out their responsibilities in an arrangement.

A purpose with several controllers is joint processing unless it says ``separate_controllers: true``
(each company decides the same processing for itself, as in a group notice). Joint processing is
covered when an arrangement (the one the purpose names in ``joint_arrangement``, or any arrangement
listing the purpose) includes every one of its controllers.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration, JointArrangement, Purpose


class JointProcessingWithoutArrangement(Rule):
    id = "joint-processing-without-arrangement"
    severity = Severity.error
    reference = "GDPR Art. 26(1)-(2)"
    summary = (
        "A purpose with several controllers is covered by a joint arrangement that includes all of them, "
        "or says separate_controllers: true."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if not jurisdictions.governed_by(purpose.controllers, GDPR):
                continue
            arrangements = self._arrangements(declaration, purpose)
            if purpose.separate_controllers:
                if arrangements:
                    yield self.finding(
                        ("purposes", i, "separate_controllers"),
                        f"purpose {purpose.id!r} says its controllers are separate but joint arrangement "
                        f"{', '.join(arrangements)} covers it; it cannot be both",
                    )
                continue
            if len(set(purpose.controllers)) < 2:
                continue
            if not arrangements:
                yield self.finding(
                    ("purposes", i, "joint_arrangement"),
                    f"purpose {purpose.id!r} has several controllers ({', '.join(purpose.controllers)}) but no "
                    "joint arrangement (joint_arrangement); if each decides it on its own, say "
                    "separate_controllers: true",
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
            named = declaration.arrangement_by_id.get(purpose.joint_arrangement or "")
            if named is not None and purpose.id not in named.purposes:
                yield self.finding(
                    ("joint_arrangements", declaration.joint_arrangements.index(named), "purposes"),
                    f"joint arrangement {named.id!r} does not list purpose {purpose.id!r}, which names it",
                )

    @staticmethod
    def _arrangements(declaration: Declaration, purpose: Purpose) -> dict[str, JointArrangement]:
        """The arrangements that name the purpose, and the one it names."""
        found = {a.id: a for a in declaration.joint_arrangements if purpose.id in a.purposes}
        named = declaration.arrangement_by_id.get(purpose.joint_arrangement or "")
        if named is not None:
            found.setdefault(named.id, named)
        return found
