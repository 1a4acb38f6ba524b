"""Discovery of every domain's tables, for Alembic and the drift test.

Each domain keeps its tables in ``dataright/<domain>/models.py``; importing them all registers them on
``Base.metadata``. Discovery walks the package instead of keeping a list, so a new domain cannot be forgotten.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from sqlalchemy import MetaData

import dataright
from dataright.storage.base import Base


def import_all_models() -> list[str]:
    """Import ``dataright.<domain>.models`` for every domain that has one; return their module names."""
    found: list[str] = []
    for info in sorted(pkgutil.iter_modules(dataright.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        name = f"dataright.{info.name}.models"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            found.append(name)
    return found


def all_metadata() -> MetaData:
    """``Base.metadata`` with every domain's tables on it."""
    import_all_models()
    return Base.metadata
