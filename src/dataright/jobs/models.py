"""The jobs domain's tables: one row per job (the source of truth), one row per schedule (its lease).

A job's state moves like this; only the holder of the lease moves a ``running`` job on, and a lease that
ran out (its worker died) puts the job back to ``queued`` for another worker:

    queued ──claim──▶ running ──▶ succeeded
      ▲                 │  └────▶ failed (attempts used up, or an error that retrying cannot fix)
      │                 └──error──▶ waiting (back-off until ``run_after``) ──claim──▶ running
      └──lease ran out / retry──┘
    queued | waiting ──cancel──▶ cancelled

``args`` holds ids and counts only, never personal data; ``last_error`` holds an error class and a short
reason written by dataright's own code (never a datastore's message, which may quote a row).
``active_key`` is the dedupe key while the job is queued, running or waiting and NULL afterwards: a unique
index on it lets the database refuse a second live job for the same thing (NULLs never collide).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from dataright.storage.base import Base
from dataright.storage.types import JSONType, UTCDateTime, utcnow


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    waiting = "waiting"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


ACTIVE = frozenset({JobState.queued, JobState.running, JobState.waiting})
CLAIMABLE = (JobState.queued.value, JobState.waiting.value)
STATE_VALUES = ", ".join(f"'{state.value}'" for state in JobState)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"state IN ({STATE_VALUES})", name="state"),
        CheckConstraint("attempts >= 0", name="attempts"),
        UniqueConstraint("active_key"),
        Index("ix_jobs_state_run_after", "state", "run_after"),
        Index("ix_jobs_kind_state", "kind", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(80))
    args: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(12), default=JobState.queued.value)
    attempts: Mapped[int] = mapped_column(Integer(), default=0)
    max_attempts: Mapped[int] = mapped_column(Integer(), default=5)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    active_key: Mapped[str | None] = mapped_column(String(200), default=None)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When the dispatcher last sent its id to the broker (NULL: not yet; a job enqueued by a process with no
    broker connection, the CLI say, is sent by the next dispatch tick)."""
    duration_ms: Mapped[int | None] = mapped_column(Integer(), default=None)
    """How long the last attempt ran (the durations histogram of ``/metrics`` is read from it)."""
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    """What the job reports back (counts and ids only)."""
    created_by: Mapped[str] = mapped_column(String(120), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class JobSchedule(Base):
    """One row per schedule: the worker whose atomic UPDATE moves ``next_run_at`` on is the one that fires it."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    interval_seconds: Mapped[int] = mapped_column(Integer())
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_fired_by: Mapped[str | None] = mapped_column(String(80), default=None)
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    fired: Mapped[int] = mapped_column(Integer(), default=0)
