"""Hashed e-mail audiences for Google Customer Match and Meta Custom Audiences: the hash, and which purposes
may have an audience at all (pure: no database).

Both take the SHA-256 hex digest of the normalised address: surrounding whitespace removed, all
lower case. Google also documents an optional removal of dots and ``+suffix`` in gmail.com local parts;
we do not rewrite addresses per provider, so one file serves both and matches what the person typed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dataright.declarations.schema import Declaration, LegalBasis, Purpose, System
from dataright.errors import NotFound, ValidationFailed


def normalise_email(address: str) -> str:
    normalised = address.strip().lower()
    local, at, domain = normalised.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in normalised):
        raise ValueError("not an e-mail address")  # the value itself is personal data: never echo it
    return normalised


def hash_email(address: str) -> str:
    """The lowercase hex SHA-256 of the normalised address, as the ad platforms expect."""
    return hashlib.sha256(normalise_email(address).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------
# which purposes may have an audience, and for whom
# ------------------------------------------------------------------------------------------------
AUDIENCE_BASES = frozenset({LegalBasis.consent, LegalBasis.legitimate_interests, LegalBasis.deemed_consent})
"""Bases an audience for advertising can rest on: the person's consent, or an interest they can object to.
Handing hashed addresses to an ad network is never necessary for a contract nor required by law."""

HASHED_IDENTIFIERS_NOTE = (
    "hashed e-mail addresses are personal data (pseudonymised: the recipient matches them with the people it "
    "knows; GDPR Art. 4(5), Recital 26)"
)
"""What the export's audit entry says of what left: a hash is not anonymous."""


@dataclass(frozen=True)
class AudiencePlan:
    """A purpose whose audience may be exported, and the matching recipient it goes to."""

    purpose: Purpose
    recipient: System


def plan_audience(
    declaration: Declaration, controller_id: str, purpose_id: str, recipient_id: str | None
) -> AudiencePlan:
    """The purpose and recipient of an audience export, or ``ValidationFailed`` saying why there is none.

    The purpose must be the controller's, rest on a basis an audience can rest on (``AUDIENCE_BASES``) and
    declare among its recipients a system that matches audiences (``audience_matching: true``); with several,
    ``recipient_id`` chooses one (each export is audited and logged per recipient).
    """
    purpose = next((p for p in declaration.purposes_of(controller_id) if p.id == purpose_id), None)
    if purpose is None:
        raise NotFound(f"purpose {purpose_id!r} is not declared for controller {controller_id!r}")
    if purpose.legal_basis not in AUDIENCE_BASES:
        raise ValidationFailed(
            f"--purpose: {purpose_id!r} rests on {purpose.legal_basis or 'no declared basis'}; an advertising "
            "audience is never necessary for a contract nor required by law: it needs consent or legitimate "
            "interests the person can object to"
        )
    matching = [
        declaration.system_by_id[r]
        for r in purpose.recipients
        if r in declaration.system_by_id and declaration.system_by_id[r].audience_matching
    ]
    if not matching:
        raise ValidationFailed(
            f"--purpose: {purpose_id!r} declares no recipient that matches audiences (a system with "
            "audience_matching: true among its recipients); its notice does not say anyone receives the hashes"
        )
    names = ", ".join(s.id for s in matching)
    if recipient_id is None:
        if len(matching) > 1:
            raise ValidationFailed(f"--recipient: {purpose_id!r} goes to several recipients; choose one of {names}")
        return AudiencePlan(purpose, matching[0])
    chosen = next((s for s in matching if s.id == recipient_id), None)
    if chosen is None:
        raise ValidationFailed(
            f"--recipient: {recipient_id!r} is not a matching recipient of {purpose_id!r}; one of {names}"
        )
    return AudiencePlan(purpose, chosen)
