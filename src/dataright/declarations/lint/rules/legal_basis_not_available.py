"""A legal basis the controller's law does not know (``deemed_consent`` under the GDPR,
``public_task`` under the PDPA). The packs' ``legal_bases`` say which bases each law has."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.loader import PathT
from dataright.declarations.schema import Declaration, LegalBasis


class LegalBasisNotAvailable(Rule):
    id = "legal-basis-not-available"
    severity = Severity.error
    reference = "GDPR Art. 6(1); PDPA s. 13-17"
    summary = "A purpose's (or communication topic's) legal basis exists in each of its controllers' laws."

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        for i, purpose in enumerate(declaration.purposes):
            if purpose.legal_basis is not None:
                yield from self._check(
                    ("purposes", i, "legal_basis"),
                    f"purpose {purpose.id!r}",
                    purpose.legal_basis,
                    purpose.controllers,
                    jurisdictions,
                )
        for i, topic in enumerate(declaration.communication_topics):
            yield from self._check(
                ("communication_topics", i, "legal_basis"),
                f"communication topic {topic.id!r}",
                topic.legal_basis,
                topic.controllers or jurisdictions.all_controller_ids(),
                jurisdictions,
            )

    def _check(
        self,
        path: PathT,
        what: str,
        basis: LegalBasis,
        controllers: tuple[str, ...],
        jurisdictions: JurisdictionLookup,
    ) -> Iterator[Finding]:
        for pack in jurisdictions.of_controllers(controllers):
            if basis not in pack.legal_bases:
                available = ", ".join(str(b) for b in pack.legal_bases)
                yield self.finding(
                    path,
                    f"{what} relies on {basis} which {pack.law_short['en']} ({pack.id}) does not provide; "
                    f"available: {available}",
                )
