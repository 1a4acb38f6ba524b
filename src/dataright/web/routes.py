"""Enumerate every (method, path) an app answers, with its dependency tree, across FastAPI versions.

Recent FastAPI keeps included routers as lazy branches in ``app.routes``; ``fastapi.routing.
iter_route_contexts`` flattens them. Older versions list the routes themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    dependant: Dependant | None


def flat_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Every route, included routers flattened (each has ``matches(scope)``, most ``path`` and ``methods``)."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # FastAPI without lazy included routers
        yield from routes
        return
    yield from iter_route_contexts(routes)


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    for route in flat_routes(app.routes):
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None)
        if not path or not methods:
            continue
        dependant = getattr(route, "dependant", None)
        for method in sorted(methods):
            if method not in IGNORED_METHODS:
                yield RouteInfo(method, path, dependant if isinstance(dependant, Dependant) else None)
