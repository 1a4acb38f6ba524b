"""Run the rules over a declaration and place each finding at its file and line."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dataright.declarations.jurisdictions import Jurisdiction, get_jurisdiction
from dataright.declarations.lint.base import Finding, LocatedFinding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.registry import RULES
from dataright.declarations.loader import LoadedDeclaration
from dataright.declarations.schema import Declaration


def check(
    declaration: Declaration,
    rules: Sequence[Rule] = RULES,
    resolve: Callable[[str], Jurisdiction] = get_jurisdiction,
) -> list[Finding]:
    """Every finding of every rule, in rule order."""
    jurisdictions = JurisdictionLookup(declaration, resolve)
    return [finding for rule in rules for finding in rule.check(declaration, jurisdictions)]


def lint(loaded: LoadedDeclaration, rules: Sequence[Rule] = RULES) -> list[LocatedFinding]:
    """The findings of a loaded declaration with file and line, ordered by file, line and rule."""
    located = []
    for finding in check(loaded.declaration, rules):
        file, line, local = loaded.source_map.locate(finding.path)
        located.append(LocatedFinding(finding, file, line, local))
    return sorted(located, key=lambda f: (f.file, f.line or 0, f.finding.rule.id, f.finding.message))


def has_errors(findings: Sequence[LocatedFinding] | Sequence[Finding]) -> bool:
    return any(f.severity == Severity.error for f in findings)
