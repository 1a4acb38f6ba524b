"""Consent to an information society service offered to a child below the consent age is given or authorised by
a guardian (GDPR Art. 8(1)); where the processing rests on consent, the purpose must say the guardian consents.

Processing on another basis (a contract, legitimate interests, a legal obligation) does not rest on anyone's
consent, so Art. 8 asks nothing of it."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.schema import Declaration, LegalBasis

_CONSENT = (LegalBasis.consent, LegalBasis.deemed_consent)


class ChildDataWithoutGuardianConsent(Rule):
    id = "child-data-without-guardian-consent"
    severity = Severity.error
    reference = "GDPR Art. 8(1); PDPC Advisory Guidelines on Selected Topics, ch. 8"
    summary = (
        "A purpose that rests on consent and whose data subjects include children declares guardian consent "
        "(guardian_consent: true)."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.guardian_consent or purpose.legal_basis not in _CONSENT:
                continue
            if not declaration.is_child_purpose(purpose):
                continue
            children = [
                (j, s)
                for j, s in enumerate(purpose.data_subjects)
                if s in declaration.subject_by_id and declaration.subject_by_id[s].child
            ]
            first, subject = children[0]
            yield self.finding(
                ("purposes", i, "data_subjects", first),
                f"purpose {purpose.id!r} rests on {purpose.legal_basis} and processes data of children "
                f"({subject!r}) with no guardian-consent rule (guardian_consent: true)",
            )
