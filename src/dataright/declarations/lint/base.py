"""What a lint rule is and what it reports.

A rule is a class with an id (kebab-case), a severity, the legal reference it enforces and a
``check`` that walks a declaration and yields findings. A finding names its place as a path into
the merged document (``("purposes", 3, "legal_basis")``); the runner turns that into ``file:line``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from dataright.declarations.loader import PathT, format_path

if TYPE_CHECKING:
    from dataright.declarations.lint.context import JurisdictionLookup
    from dataright.declarations.schema import Declaration


class Severity(StrEnum):
    """``error`` makes ``dataright lint`` exit 1; ``warning`` is printed but does not fail."""

    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class Finding:
    """One breach of one rule at one place in the merged document."""

    rule: Rule
    path: PathT
    message: str
    reference: str

    @property
    def severity(self) -> Severity:
        return self.rule.severity


@dataclass(frozen=True)
class LocatedFinding:
    """A finding with the file and line its path came from."""

    finding: Finding
    file: str
    line: int | None
    local_path: PathT

    @property
    def severity(self) -> Severity:
        return self.finding.severity

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where} {self.finding.rule.id} {self.finding.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": format_path(self.local_path),
            "rule": self.finding.rule.id,
            "severity": str(self.severity),
            "message": self.finding.message,
            "reference": self.finding.reference,
        }


class Rule(ABC):
    """A check taken from the law. Subclasses set the class attributes and implement ``check``."""

    id: ClassVar[str]
    severity: ClassVar[Severity]
    reference: ClassVar[str]
    summary: ClassVar[str]

    @abstractmethod
    def check(self, declaration: Declaration, jurisdictions: JurisdictionLookup) -> Iterable[Finding]:
        """Yield a finding for every place the declaration breaks this rule."""

    def finding(self, path: PathT, message: str, reference: str | None = None) -> Finding:
        """A finding of this rule; ``reference`` overrides the rule's citation (e.g. a pack's own)."""
        return Finding(self, path, message, reference or self.reference)

    def __repr__(self) -> str:
        return f"<rule {self.id}>"
