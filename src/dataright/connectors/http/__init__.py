"""The declarative HTTP connector: SaaS APIs as datastores, described in YAML (``definitions/`` ships some)."""

from dataright.connectors.http.connector import HttpConnector

__all__ = ["HttpConnector"]
