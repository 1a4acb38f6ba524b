"""Declarations for lint tests, built by editing NexaLearn: one change a test, everything else real."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from dataright.declarations.lint import Finding, Rule, check, rule_by_id
from dataright.declarations.schema import Declaration


class Draft:
    """An immutable edit of a declaration; ``build`` validates the result like the loader does."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @classmethod
    def of(cls, declaration: Declaration) -> Draft:
        return cls(declaration.model_dump(mode="python"))

    def item(self, section: str, key: str, field: str = "id", **changes: Any) -> Draft:
        """Change fields of the item of ``section`` whose ``field`` equals ``key``."""
        items = [dict(i) for i in self._data[section]]
        matches = [i for i in items if i[field] == key]
        assert len(matches) == 1, f"no single {section} item with {field}={key!r}"
        matches[0].update(changes)
        return Draft({**self._data, section: items})

    def purpose(self, purpose_id: str, **changes: Any) -> Draft:
        return self.item("purposes", purpose_id, **changes)

    def controller(self, controller_id: str, **changes: Any) -> Draft:
        return self.item("controllers", controller_id, **changes)

    def system(self, system_id: str, **changes: Any) -> Draft:
        return self.item("systems", system_id, **changes)

    def add(self, section: str, *items: dict[str, Any]) -> Draft:
        return Draft({**self._data, section: [*self._data.get(section, ()), *items]})

    def rights(self, **changes: Any) -> Draft:
        """Change the shared rights handling (NexaLearn's controller has no rights block of its own)."""
        return Draft({**self._data, "rights": {**self._data["rights"], **changes}})

    def set(self, **sections: Any) -> Draft:
        return Draft({**self._data, **sections})

    def get(self, section: str, key: str, field: str = "id") -> dict[str, Any]:
        """A copy of one item, to build a new one from."""
        return dict(next(i for i in self._data[section] if i[field] == key))

    def build(self) -> Declaration:
        declaration = Declaration.model_validate(self._data)
        assert declaration.reference_problems() == []
        return declaration

    def findings(self, rule: str | Rule, *, rules: Sequence[Rule] | None = None) -> list[Finding]:
        chosen = rule_by_id(rule) if isinstance(rule, str) else rule
        return check(self.build(), rules or [chosen])


@pytest.fixture
def draft(nexalearn: Declaration) -> Draft:
    """NexaLearn, ready to be edited."""
    return Draft.of(nexalearn)


@pytest.fixture
def under_pdpa(draft: Draft) -> Draft:
    """NexaLearn as if it were a Singapore organisation."""
    return draft.controller("nexalearn", jurisdiction="pdpa-sg", country="SG")
