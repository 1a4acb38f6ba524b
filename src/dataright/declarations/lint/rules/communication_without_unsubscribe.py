"""Every consent-based message, and every direct-marketing e-mail or text, carries a way out."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule, Severity
from dataright.declarations.lint.context import GDPR, JurisdictionLookup
from dataright.declarations.lint.rules.consent_without_withdrawal import CONSENT_BASES
from dataright.declarations.schema import Channel, Declaration

ELECTRONIC = frozenset({Channel.email, Channel.sms})


class CommunicationWithoutUnsubscribe(Rule):
    id = "communication-without-unsubscribe"
    severity = Severity.error
    reference = "GDPR Art. 7(3), 21(2); ePrivacy Directive Art. 13(2); PDPA s. 16"
    summary = (
        "A consent-based communication topic, or a direct-marketing topic sent by e-mail or SMS, names an "
        "unsubscribe method."
    )

    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterator[Finding]:
        everyone = jurisdictions.all_controller_ids()
        for i, topic in enumerate(declaration.communication_topics):
            if topic.unsubscribe:
                continue
            path = ("communication_topics", i, "unsubscribe")
            if topic.legal_basis in CONSENT_BASES:
                yield self.finding(
                    path, f"communication topic {topic.id!r} relies on {topic.legal_basis} but has no unsubscribe"
                )
                continue
            purpose = declaration.purpose_by_id.get(topic.purpose)
            electronic = sorted(str(c) for c in ELECTRONIC.intersection(topic.channels))
            if (
                purpose is not None
                and purpose.direct_marketing
                and electronic
                and jurisdictions.governed_by(topic.controllers or everyone, GDPR)
            ):
                yield self.finding(
                    path,
                    f"communication topic {topic.id!r} sends direct marketing by {' and '.join(electronic)} "
                    "with no unsubscribe; every message must offer one",
                )
