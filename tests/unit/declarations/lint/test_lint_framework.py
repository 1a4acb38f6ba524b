"""The rule framework: the registry, where findings land, how they print, and the helpers rules share."""

from __future__ import annotations

import pkgutil
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from dataright.declarations import lint as lint_package
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.lint import RULES, JurisdictionLookup, Severity, check, has_errors, lint, rule_by_id
from dataright.declarations.lint import rules as rules_package
from dataright.declarations.lint.context import cite
from dataright.declarations.lint.deadlines import overrun
from dataright.declarations.loader import load
from dataright.declarations.periods import Period


def test_every_rule_module_is_registered_once() -> None:
    modules = {m.name for m in pkgutil.iter_modules(rules_package.__path__)}
    registered = [type(rule).__module__.rsplit(".", 1)[1] for rule in RULES]
    assert sorted(registered) == sorted(modules)


def test_rule_ids_are_unique_kebab_case_and_each_rule_cites_the_law() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    for rule in RULES:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", rule.id), rule.id
        assert rule.severity in (Severity.error, Severity.warning)
        assert re.search(r"(GDPR|PDPA|ePrivacy|PDPC).*\d", rule.reference), rule.reference
        assert rule.summary.endswith("."), rule.id


def test_rule_by_id_names_the_unknown_id() -> None:
    assert rule_by_id("purpose-without-legal-basis").id == "purpose-without-legal-basis"
    with pytest.raises(KeyError, match="no-such-rule"):
        rule_by_id("no-such-rule")


def test_public_names_are_exported() -> None:
    for name in lint_package.__all__:
        assert hasattr(lint_package, name), name


def _copy(examples_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    return root


def test_a_finding_is_placed_at_the_file_and_line_of_its_path(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    retention = root / "retention.yaml"
    text = retention.read_text(encoding="utf-8").replace("    action: delete\n", "", 1)
    retention.write_text(text, encoding="utf-8")
    rule_line = next(n for n, line in enumerate(text.splitlines(), start=1) if "- id: account-closure-6m" in line)

    [finding] = [f for f in lint(load(root)) if f.finding.rule.id == "retention-without-action"]

    assert (Path(finding.file).name, finding.line) == ("retention.yaml", rule_line)
    assert str(finding) == (
        f"{finding.file}:{rule_line} retention-without-action retention rule 'account-closure-6m' does not say "
        "what happens after P6M (action: delete, anonymise or pseudonymise)"
    )
    assert finding.as_dict() == {
        "file": finding.file,
        "line": rule_line,
        "path": "retention_rules[0].action",
        "rule": "retention-without-action",
        "severity": "error",
        "message": finding.finding.message,
        "reference": "GDPR Art. 5(1)(e); PDPA s. 25",
    }


def test_a_path_in_a_later_file_is_reported_local_to_that_file(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    (root / "zz-more.yaml").write_text(
        "retention_rules:\n  - id: extra\n    description: {en: x}\n    duration: P1Y\n    trigger: collection\n",
        encoding="utf-8",
    )
    [finding] = [f for f in lint(load(root)) if f.finding.rule.id == "retention-without-action"]
    assert (Path(finding.file).name, finding.line, finding.as_dict()["path"]) == (
        "zz-more.yaml",
        2,
        "retention_rules[0].action",
    )


def test_findings_are_ordered_by_file_and_line(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    purposes = root / "purposes.yaml"
    text = purposes.read_text(encoding="utf-8")
    purposes.write_text(text.replace("    retention: ", "    # retention: "), encoding="utf-8")
    (root / "retention.yaml").write_text(
        (root / "retention.yaml").read_text(encoding="utf-8").replace("    action: ", "    # action: "),
        encoding="utf-8",
    )

    findings = lint(load(root))

    places = [(f.file, f.line or 0) for f in findings]
    assert places == sorted(places)
    assert [Path(f.file).name for f in findings if f.severity == Severity.error].count("purposes.yaml") == 9
    assert [Path(f.file).name for f in findings if f.severity == Severity.error].count("retention.yaml") == 5


def test_warnings_alone_are_not_errors(draft) -> None:
    findings = check(draft.build())
    assert findings and all(f.severity == Severity.warning for f in findings)
    assert not has_errors(findings)
    assert has_errors(check(draft.purpose("payment", legal_basis=None).build()))


def test_lookup_resolves_national_packs_to_their_law_and_skips_unknown_ids(nexalearn) -> None:
    lookup = JurisdictionLookup(nexalearn)
    pack = lookup.of_controller("nexalearn")
    assert pack is not None and pack.id == "gdpr-no"
    assert lookup.law(pack) == "gdpr"
    assert lookup.get("gdpr-xx") is None
    assert lookup.governed_by(["nexalearn"], "gdpr") == [pack]
    assert lookup.governed_by(["nexalearn"], "pdpa-sg") == []


def test_cite_prefixes_bare_articles_with_the_law_but_not_national_acts() -> None:
    gdpr_no = get_jurisdiction("gdpr-no")
    assert cite(gdpr_no, "Art. 12(3)") == "GDPR Art. 12(3)"
    assert cite(gdpr_no, "personopplysningsloven § 5") == "personopplysningsloven § 5"
    assert cite(get_jurisdiction("pdpa-sg"), "s. 26D(1)") == "PDPA s. 26D(1)"


@pytest.mark.parametrize(
    ("own", "limit", "ever", "always"),
    [
        ("P30D", "P1M", True, False),  # from 31 January thirty days end on 1 March, one month on 29 February
        ("P28D", "P1M", False, False),
        ("P1M", "P1M", False, False),
        ("P32D", "P1M", True, True),
        ("P3M", "P2M", True, True),
        ("P1M", "P30D", True, False),
    ],
)
def test_overrun_compares_periods_from_every_start_date(own: str, limit: str, ever: bool, always: bool) -> None:
    result = overrun(Period.parse(own), Period.parse(limit))
    assert (result.ever, result.always) == (ever, always)


def test_overrun_names_the_first_start_date_it_ends_late() -> None:
    assert overrun(Period.parse("P30D"), Period.parse("P1M")).first == datetime(2024, 1, 31)
