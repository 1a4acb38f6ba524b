"""The registry of loaded declarations by controller id."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataright.declarations.registry import DeclarationRegistry
from dataright.errors import ConfigurationError, NotFound


def test_every_controller_of_the_loaded_examples_is_found(examples_dir: Path) -> None:
    paths = [p for p in sorted(examples_dir.iterdir()) if p.is_dir()]
    registry = DeclarationRegistry.from_paths(paths)
    assert len(registry.declarations) == len(paths)
    for declaration in registry.declarations:
        for controller in declaration.controllers:
            entry = registry.controller(controller.id)
            assert entry.controller is controller and entry.declaration is declaration
            assert controller.id in registry


def test_an_unknown_controller_is_not_found(examples_dir: Path) -> None:
    registry = DeclarationRegistry.from_paths([examples_dir / "nexalearn"])
    with pytest.raises(NotFound, match="'nobody'"):
        registry.controller("nobody")


def test_the_same_declaration_twice_is_refused(examples_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="declared by both"):
        DeclarationRegistry.from_paths([examples_dir / "nexalearn", examples_dir / "nexalearn"])
