"""Lint a declaration against the law: one rule a module, each citing the article it enforces.

>>> findings = lint(load("examples/nexalearn"))   # [LocatedFinding], file:line rule-id message
"""

from dataright.declarations.lint.base import Finding, LocatedFinding, Rule, Severity
from dataright.declarations.lint.context import JurisdictionLookup
from dataright.declarations.lint.registry import RULES, rule_by_id
from dataright.declarations.lint.runner import check, has_errors, lint

__all__ = [
    "RULES",
    "Finding",
    "JurisdictionLookup",
    "LocatedFinding",
    "Rule",
    "Severity",
    "check",
    "has_errors",
    "lint",
    "rule_by_id",
]
