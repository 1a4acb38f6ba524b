"""Connectors by kind, found through the ``dataright.connectors`` entry point group.

A package adds a connector by declaring, in its ``pyproject.toml``::

    [project.entry-points."dataright.connectors"]
    mongodb = "dataright_mongodb:MongoConnector"
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from dataright.connectors.base import Connector
from dataright.declarations.datasets import Dataset
from dataright.errors import ConfigurationError

GROUP = "dataright.connectors"


@cache
def connector_classes() -> dict[str, Any]:
    """Kind -> connector class, from every installed package's entry points."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def connector_class(kind: str) -> Any:
    found = connector_classes().get(kind)
    if found is None:
        known = ", ".join(sorted(connector_classes())) or "none installed"
        raise ConfigurationError(f"no connector {kind!r} (installed: {known}); is its package installed?")
    return found.load()


def open_connector(dataset: Dataset, environ: Mapping[str, str], base_dir: str | None = None) -> Connector:
    """The connector for ``dataset``, its ``${VAR}`` secrets read from ``environ``."""
    cls = connector_class(dataset.connector)
    connector: Connector = cls(dataset, environ=environ, base_dir=base_dir)
    return connector
