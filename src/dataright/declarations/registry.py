"""The declarations a running dataright serves, by controller id.

The server loads one or more declaration folders at start; every request names a controller, and this
registry answers with that controller and the declaration it belongs to. Controller ids must be unique
across the loaded declarations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from dataright.declarations.loader import load
from dataright.declarations.schema import Controller, Declaration
from dataright.errors import ConfigurationError, NotFound


class ControllerEntry(NamedTuple):
    declaration: Declaration
    controller: Controller


class DeclarationRegistry:
    def __init__(self, declarations: Iterable[Declaration] = ()) -> None:
        self._declarations: list[Declaration] = []
        self._by_controller: dict[str, ControllerEntry] = {}
        for declaration in declarations:
            self.add(declaration)

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> DeclarationRegistry:
        """Load each path (a YAML file or a folder); a ``DeclarationError`` names the first broken one."""
        return cls(load(path).declaration for path in paths)

    def add(self, declaration: Declaration) -> None:
        for controller in declaration.controllers:
            if controller.id in self._by_controller:
                other = self._by_controller[controller.id].declaration.organisation.id
                raise ConfigurationError(
                    f"controller {controller.id!r} is declared by both {other!r} and {declaration.organisation.id!r}"
                )
        self._declarations.append(declaration)
        for controller in declaration.controllers:
            self._by_controller[controller.id] = ControllerEntry(declaration, controller)

    def controller(self, controller_id: str) -> ControllerEntry:
        """The controller and its declaration; ``NotFound`` when no loaded declaration has it."""
        entry = self._by_controller.get(controller_id)
        if entry is None:
            raise NotFound(f"no loaded declaration has a controller {controller_id!r}")
        return entry

    def __contains__(self, controller_id: object) -> bool:
        return controller_id in self._by_controller

    def __iter__(self) -> Iterator[ControllerEntry]:
        return iter(self._by_controller.values())

    def __len__(self) -> int:
        return len(self._by_controller)

    @property
    def controller_ids(self) -> list[str]:
        return sorted(self._by_controller)

    @property
    def declarations(self) -> tuple[Declaration, ...]:
        return tuple(self._declarations)
