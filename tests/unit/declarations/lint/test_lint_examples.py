"""The reference organisations are lawful as declared: no error-severity finding."""

from __future__ import annotations

from dataright.declarations.lint import Severity, lint


def test_each_example_lints_without_errors(example) -> None:
    errors = [str(f) for f in lint(example) if f.severity == Severity.error]
    assert errors == []
