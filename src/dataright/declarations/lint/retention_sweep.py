"""The shared body of the rules that refuse a retention sweep which cannot run as declared."""

from __future__ import annotations

from collections.abc import Iterator

from dataright.declarations.lint.base import Finding, Rule
from dataright.declarations.schema import Declaration


def sweep_findings(rule: Rule, declaration: Declaration, kind: str) -> Iterator[Finding]:
    from dataright.retention.policies import problems

    for problem in problems(declaration):
        if problem.kind == kind:
            yield rule.finding(problem.path, f"retention rule {problem.rule_id!r}: {problem.message}")
