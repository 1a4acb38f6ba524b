"""Shared fixtures: the three reference organisations, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dataright.declarations.loader import LoadedDeclaration, load
from dataright.declarations.schema import Declaration

# Apps built by tests run no background jobs (schedules would drain outboxes the tests inspect); the jobs
# tests start their runners themselves.
os.environ.setdefault("DATARIGHT_JOBS_RUNNER", "off")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = ("nestit-group", "nexalearn", "nestpros")

pytest_plugins = [
    "fixtures.db",
    "fixtures.smtp",
    "fixtures.web",
    "fixtures.elearning",
    "fixtures.fake_stripe",
    "fixtures.demo",
]


def example_path(name: str) -> Path:
    return EXAMPLES / name


def available_examples() -> list[str]:
    return [n for n in EXAMPLE_NAMES if (EXAMPLES / n).is_dir()]


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session", params=available_examples())
def example(request: pytest.FixtureRequest) -> LoadedDeclaration:
    """Each reference organisation in turn."""
    return load(EXAMPLES / request.param)


@pytest.fixture(scope="session")
def nexalearn() -> Declaration:
    return load(EXAMPLES / "nexalearn").declaration


@pytest.fixture(scope="session")
def nestit() -> Declaration:
    return load(EXAMPLES / "nestit-group").declaration


@pytest.fixture(scope="session")
def nestpros() -> Declaration:
    return load(EXAMPLES / "nestpros").declaration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``postgres`` on every test that runs on PostgreSQL: those parametrised with the ``postgresql`` backend
    (``db_url``, ``backend``, ``elearning_url``, ...) and those using its fixture directly, so
    ``-m "not postgres"`` runs the rest without the server."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        fixtures = getattr(item, "fixturenames", ())
        if "postgresql" in params.values() or "postgres_databases" in fixtures:
            item.add_marker(pytest.mark.postgres)
