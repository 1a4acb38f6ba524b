"""Special categories of personal data (health, beliefs, biometrics …) need an Art. 9(2) condition
besides the Art. 6 legal basis."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.schema import Declaration


class SpecialCategoryWithoutCondition(Rule):
    id = "special-category-without-condition"
    severity = Severity.error
    reference = "GDPR Art. 9(1)-(2)"
    summary = "A purpose processing special-category data names its Art. 9(2) condition."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.special_category_condition is not None:
                continue
            special = [(j, c) for j, c in enumerate(purpose.data_categories) if declaration.is_special(c)]
            if special and jurisdictions.governed_by(purpose.controllers, GDPR):
                first, _ = special[0]
                names = ", ".join(c for _, c in special)
                yield self.finding(
                    ("purposes", i, "data_categories", first),
                    f"purpose {purpose.id!r} processes special-category data ({names}) without an Art. 9(2) "
                    "condition (special_category_condition)",
                )
