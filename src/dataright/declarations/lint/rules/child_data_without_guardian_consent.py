"""Children's data is processed only with a rule for their guardians' consent."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration


class ChildDataWithoutGuardianConsent(Rule):
    id = "child-data-without-guardian-consent"
    severity = Severity.error
    reference = "GDPR Art. 8(1); PDPC Advisory Guidelines on Selected Topics, ch. 8"
    summary = "A purpose whose data subjects include children declares guardian consent (guardian_consent: true)."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.guardian_consent or not declaration.is_child_purpose(purpose):
                continue
            children = [
                (j, s)
                for j, s in enumerate(purpose.data_subjects)
                if s in declaration.subject_by_id and declaration.subject_by_id[s].child
            ]
            first, subject = children[0]
            yield self.finding(
                ("purposes", i, "data_subjects", first),
                f"purpose {purpose.id!r} processes data of children ({subject!r}) with no guardian-consent rule "
                "(guardian_consent: true)",
            )
