"""Personal data is kept only for a declared purpose.

A dataset field whose data category no purpose of the dataset's controllers declares is data collected or
kept without a stated purpose (purpose limitation, data minimisation), and it is missing from the notice.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.rules.category_in_no_dataset import related
from dataright.declarations.schema import Declaration


class DatasetCategoryWithoutPurpose(Rule):
    id = "dataset-category-without-purpose"
    severity = Severity.error
    reference = "GDPR Art. 5(1)(b)-(c), 13(1)(c)"
    summary = "Every data category of a dataset field is declared by a purpose of the dataset's controllers."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for d, dataset in enumerate(declaration.datasets):
            controllers = dataset.controllers or tuple(c.id for c in declaration.controllers)
            declared = {c for cid in controllers for p in declaration.purposes_of(cid) for c in p.data_categories}
            for t, table in enumerate(dataset.tables):
                for f, field in enumerate(table.fields):
                    for c, category in enumerate(field.data_categories):
                        if not any(related(category, known) for known in declared):
                            yield self.finding(
                                ("datasets", d, "tables", t, "fields", f, "data_categories", c),
                                f"{dataset.id}.{table.name}.{field.name} holds {category}, which no purpose of "
                                f"{', '.join(controllers)} declares",
                            )
