"""The request lifecycle as data: types, states, the transitions between them and the reasons for a denial.

Pure: no database. ``service`` asks ``check_transition`` before every state change, so an illegal one is
refused with the states that are allowed from where the request stands.

    received ──▶ verified ──▶ in_progress ──▶ completed
       │            │              │
       ├────────────┴──────────────┴────▶ denied | withdrawn
       └──▶ expired  (never verified)
"""

from __future__ import annotations

from enum import StrEnum

from dataright.declarations.schema import Right
from dataright.errors import IllegalTransition


class RequestType(StrEnum):
    access = "access"  # GDPR Art. 15, PDPA s. 21
    rectification = "rectification"  # GDPR Art. 16, PDPA s. 22
    erasure = "erasure"  # GDPR Art. 17
    restriction = "restriction"  # GDPR Art. 18
    portability = "portability"  # GDPR Art. 20
    objection = "objection"  # GDPR Art. 21
    withdraw_consent = "withdraw_consent"  # GDPR Art. 7(3), PDPA s. 16

    @property
    def right(self) -> Right:
        return Right(self.value)


# Types whose fulfilment changes data elsewhere: a task per datastore and per recipient owed a notice (Art. 19).
CHANGES_DATA = frozenset({RequestType.erasure, RequestType.rectification, RequestType.restriction})
# Types answered with a package of the person's data.
DELIVERS_PACKAGE = frozenset({RequestType.access, RequestType.portability})


class Status(StrEnum):
    received = "received"
    verified = "verified"
    in_progress = "in_progress"
    completed = "completed"
    denied = "denied"
    withdrawn = "withdrawn"
    expired = "expired"


OPEN = frozenset({Status.received, Status.verified, Status.in_progress})
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.received: (Status.verified, Status.denied, Status.withdrawn, Status.expired),
    Status.verified: (Status.in_progress, Status.completed, Status.denied, Status.withdrawn),
    Status.in_progress: (Status.completed, Status.denied, Status.withdrawn),
    Status.completed: (),
    Status.denied: (),
    Status.withdrawn: (),
    Status.expired: (),
}


def allowed_from(status: Status) -> tuple[Status, ...]:
    return TRANSITIONS[status]


def check_transition(reference: str, current: Status, target: Status) -> None:
    """``IllegalTransition`` (409, naming the allowed states) unless ``current -> target`` is in the lifecycle."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        named = ", ".join(s.value for s in allowed) or "none: the request is closed"
        raise IllegalTransition(
            f"request {reference} is {current.value}; it cannot become {target.value} (allowed: {named})",
            current=current.value,
            allowed=tuple(s.value for s in allowed),
        )


class DenialReason(StrEnum):
    identity_not_verified = "identity_not_verified"  # the requester's identity could not be verified (Art. 12(6))
    manifestly_unfounded = "manifestly_unfounded"  # Art. 12(5)(b)
    excessive = "excessive"  # Art. 12(5), repetitive in particular
    legal_exemption = "legal_exemption"  # Art. 23 national restrictions, PDPA Fifth/Sixth Schedule


FEE_REASONS = frozenset({DenialReason.manifestly_unfounded, DenialReason.excessive})


class Channel(StrEnum):
    """How a request reached the controller."""

    web = "web"
    email = "email"
    phone = "phone"
    letter = "letter"
    in_person = "in_person"


class FiledBy(StrEnum):
    subject = "subject"
    guardian = "guardian"
    staff = "staff"
