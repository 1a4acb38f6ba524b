"""The API key table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime, utcnow

ALL_CONTROLLERS = "*"


class KeyGrants:
    """What a key may do; shared by the table row and the cache's snapshot of it (``VerifiedKey``)."""

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def controller_ids(self) -> Sequence[str]: ...

        @property
        def revoked_at(self) -> datetime | None: ...

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def all_controllers(self) -> bool:
        return ALL_CONTROLLERS in self.controller_ids

    def may_act_for(self, controller_id: str) -> bool:
        return self.all_controllers or controller_id in self.controller_ids


class ApiKey(KeyGrants, Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    controller_ids: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
