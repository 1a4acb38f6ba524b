"""The job kinds: a name, a handler, how often it may be tried and how long its lease lasts.

A module defines a kind with the decorator and the registry finds it by name when a worker picks the job up::

    @job_kind("mail.send", max_attempts=3)
    def send_mail(ctx: JobContext) -> dict[str, int]:
        ...

Built-in kinds live in ``jobs.tasks`` (imported by ``load_kinds``); more are imported from the modules the
``job_modules`` setting names (``dataright worker --import MODULE`` adds one), so a worker on another machine
knows the same kinds as the server that enqueued them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataright.errors import ConfigurationError, NotFound

if TYPE_CHECKING:
    from dataright.jobs.runtime import JobContext

Handler = Callable[["JobContext"], "dict[str, Any] | None"]
BUILTIN_MODULES = ("dataright.jobs.tasks",)


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    """The wait after the first failed attempt; doubled after each further one, up to ``backoff_max_seconds``."""
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 300.0
    """How long a worker holds the job without renewing; it renews every third of it while the job runs."""


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    max_attempts: int = 5,
    backoff_seconds: float = 30.0,
    backoff_max_seconds: float = 3600.0,
    lease_seconds: float = 300.0,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of kind ``name``."""
    if max_attempts < 1:
        raise ValueError(f"job kind {name}: max_attempts must be at least 1")

    def register(handler: Handler) -> Handler:
        existing = _KINDS.get(name)
        if existing is not None and existing.handler is not handler:
            same = getattr(existing.handler, "__qualname__", None) == getattr(handler, "__qualname__", None) and (
                getattr(existing.handler, "__module__", None) == getattr(handler, "__module__", None)
            )
            if not same:  # a module imported twice (tests, reloads) re-registers itself; two modules may not
                raise ConfigurationError(f"job kind {name!r} is registered twice")
        _KINDS[name] = JobKind(name, handler, max_attempts, backoff_seconds, backoff_max_seconds, lease_seconds)
        return handler

    return register


def kind(name: str) -> JobKind:
    found = _KINDS.get(name)
    if found is None:
        raise NotFound(f"no job kind {name!r} is registered in this process (known: {', '.join(sorted(_KINDS))})")
    return found


def known() -> list[str]:
    return sorted(_KINDS)


def load_kinds(modules: Iterable[str] = ()) -> list[str]:
    """Import the built-in kinds and ``modules`` (dotted names); the kinds now known."""
    for module in (*BUILTIN_MODULES, *modules):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigurationError(f"job module {module!r} cannot be imported: {exc}") from None
    return known()
