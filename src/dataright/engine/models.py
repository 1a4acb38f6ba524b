"""The engine's checkpoints: one row per run, one per finished table step.

A run is keyed by what it does to whom (``kind`` + ``subject_key``, a keyed hash of the identities, never
the identities themselves): an erasure that was killed is found again by the same request and resumes after
its last finished step, so a re-run converges to the end state of an uninterrupted run.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime, utcnow


class EngineRun(Base):
    __tablename__ = "engine_runs"
    __table_args__ = (Index("ix_engine_runs_subject", "kind", "controller_id", "subject_key", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    controller_id: Mapped[str] = mapped_column(String(80))
    subject_key: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")
    """running, done, failed (a failed run is resumed by the next run for the same request)."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class EngineStep(Base):
    __tablename__ = "engine_steps"
    __table_args__ = (UniqueConstraint("run_id", "dataset", "table_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("engine_runs.id"))
    dataset: Mapped[str] = mapped_column(String(80))
    table_name: Mapped[str] = mapped_column(String(128))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
