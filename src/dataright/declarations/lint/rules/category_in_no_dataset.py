"""A category the notice promises to process should be found where the data is kept.

When a declaration describes its datastores (``datasets``), a data category that a purpose declares but
no dataset field holds is either processed somewhere undeclared (a rights request would miss it) or not
processed at all (the notice and the Art. 30 record overstate it). Declarations without datasets are not
checked, nor are purposes served by cookies and cookie identifiers (that data sits in the browser and with
the cookie's vendor, declared under ``cookies``).
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration

COOKIE_ID = "user.device.cookie_id"


def related(a: str, b: str) -> bool:
    """Two categories name the same data when equal or when one is the other's parent."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


class CategoryInNoDataset(Rule):
    id = "category-in-no-dataset"
    severity = Severity.warning
    reference = "GDPR Art. 30(1)(c), 15(1)(b), 17(1)"
    summary = "Every data category a purpose declares is held by a field of some dataset (when datasets exist)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        if not declaration.datasets:
            return
        by_cookies = {c.consent_purpose for c in declaration.cookies if c.consent_purpose}
        for i, purpose in enumerate(declaration.purposes):
            if purpose.id in by_cookies:
                continue
            held = {
                category
                for controller in purpose.controllers
                for dataset in declaration.datasets_of(controller)
                for table in dataset.tables
                for field in table.fields
                for category in field.data_categories
            }
            for j, category in enumerate(purpose.data_categories):
                if category != COOKIE_ID and not any(related(category, h) for h in held):
                    yield self.finding(
                        ("purposes", i, "data_categories", j),
                        f"purpose {purpose.id!r} processes {category} but no dataset field of its controllers "
                        "holds it; a rights request would not find it (declare the field, or drop the category)",
                    )
