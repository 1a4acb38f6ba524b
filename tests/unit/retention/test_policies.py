"""Retention policies without a database: what is due on a day, what keeps it, and which rules cannot run."""

from __future__ import annotations

import calendar
import shutil
from datetime import date, timedelta
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from dataright.declarations.fiscal import ends, fiscal_year_end_of, last_day_run_out, period_start, year_end_in
from dataright.declarations.lint.runner import lint
from dataright.declarations.loader import load
from dataright.declarations.periods import Period
from dataright.declarations.schema import Declaration
from dataright.retention.policies import problems, rule_policies

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
month_days = st.builds(
    lambda m, d: f"{m:02d}-{min(d, 29 if m == 2 else calendar.monthrange(2001, m)[1]):02d}",
    st.integers(1, 12),
    st.integers(1, 31),
)
periods = st.builds(
    Period,
    years=st.integers(0, 10),
    months=st.integers(0, 24),
    weeks=st.integers(0, 8),
    days=st.integers(0, 400),
)


# -- dates ------------------------------------------------------------------------------------------
@given(days, month_days)
def test_the_financial_year_a_day_falls_in_ends_on_or_after_it_within_a_year(day: date, month_day: str) -> None:
    end = fiscal_year_end_of(day, month_day)
    assert day <= end < day + timedelta(days=366)
    assert end == year_end_in(end.year, month_day)
    assert fiscal_year_end_of(end, month_day) == end
    assert fiscal_year_end_of(end + timedelta(days=1), month_day) == year_end_in(end.year + 1, month_day)


@given(st.integers(1990, 2090))
def test_a_financial_year_ending_29_february_ends_on_the_last_day_of_february(year: int) -> None:
    end = year_end_in(year, "02-29")
    assert end.month == 2 and end.day == (29 if calendar.isleap(year) else 28)


@given(days, days, periods, st.booleans(), month_days)
def test_a_record_is_due_exactly_when_its_period_has_run_out(
    record: date, today: date, period: Period, fiscal: bool, month_day: str
) -> None:
    last = last_day_run_out(today, period, fiscal=fiscal, month_day=month_day)
    run_out = ends(record, period, fiscal=fiscal, month_day=month_day) <= today
    assert run_out == (last is not None and record <= last)


def test_a_month_after_the_end_of_january_is_the_end_of_february() -> None:
    one_month = Period.parse("P1M")
    # 29, 30 and 31 January all run out on 28 February 2025; in 2024 (a leap year) on the 29th
    assert last_day_run_out(date(2025, 2, 28), one_month) == date(2025, 1, 31)
    assert last_day_run_out(date(2025, 2, 27), one_month) == date(2025, 1, 27)
    assert last_day_run_out(date(2024, 2, 29), one_month) == date(2024, 1, 31)
    assert last_day_run_out(date(2024, 2, 28), one_month) == date(2024, 1, 28)


def test_a_record_made_on_29_february_runs_out_a_year_later_on_28_february() -> None:
    assert ends(date(2024, 2, 29), Period.parse("P1Y")) == date(2025, 2, 28)


def test_bookkeeping_runs_from_the_day_after_the_financial_year_ends() -> None:
    five_years = Period.parse("P5Y")
    # a voucher of 10 March 2019 in a calendar financial year: kept through 2024, gone from 1 January 2025
    assert period_start(date(2019, 3, 10), fiscal=True, month_day="12-31") == date(2020, 1, 1)
    assert ends(date(2019, 3, 10), five_years, fiscal=True, month_day="12-31") == date(2025, 1, 1)
    assert last_day_run_out(date(2024, 12, 31), five_years, fiscal=True, month_day="12-31") == date(2018, 12, 31)
    assert last_day_run_out(date(2025, 1, 1), five_years, fiscal=True, month_day="12-31") == date(2019, 12, 31)
    # a financial year ending 30 June: the same voucher's year ends 30 June 2019
    assert ends(date(2019, 3, 10), five_years, fiscal=True, month_day="06-30") == date(2024, 7, 1)


def test_the_seven_year_swedish_hold_keeps_2019_vouchers_through_2026() -> None:
    seven_years = Period.parse("P7Y")
    assert last_day_run_out(date(2026, 12, 31), seven_years, fiscal=True, month_day="12-31") == date(2018, 12, 31)
    assert last_day_run_out(date(2027, 1, 1), seven_years, fiscal=True, month_day="12-31") == date(2019, 12, 31)


# -- policies ---------------------------------------------------------------------------------------
def test_nexalearn_deletes_six_months_after_the_relationship_ends_children_before_parents(
    nexalearn: Declaration,
) -> None:
    today = date(2026, 12, 7)
    policy = next(p for p in rule_policies(nexalearn, "nexalearn", today) if p.rule_id == "account-closure-6m")
    order = [tp.table.name for tp in policy.tables]
    assert order[-1] == "customers" and policy.root.root
    assert order.index("invoices") < order.index("payments") < order.index("customers")
    assert order.index("lessons") < order.index("enrollments") < order.index("children")
    assert policy.due_through == date(2026, 6, 7)
    invoices = next(tp for tp in policy.tables if tp.table.name == "invoices")
    (hold,) = invoices.holds
    assert (hold.hold_id, hold.fields, hold.hold_from) == ("bookkeeping-no", ("amount_cents", "issued_on"), "issued_on")
    assert hold.cutoff == date(2021, 1, 1)  # 2020's books were kept through 2025; 2021's are still kept


def test_consent_withdrawal_is_due_at_the_next_run(nexalearn: Declaration) -> None:
    today = date(2026, 12, 7)
    policy = next(p for p in rule_policies(nexalearn, "nexalearn", today) if p.rule_id == "consent-withdrawn")
    assert policy.due_through == today
    assert [tp.table.name for tp in policy.tables][-1] == "analytics_profiles"


def test_statistics_anonymisation_keeps_the_page_and_the_day(nexalearn: Declaration) -> None:
    policy = next(p for p in rule_policies(nexalearn, "nexalearn", date(2026, 12, 7)) if p.action == "anonymise")
    assert [tp.table.name for tp in policy.tables] == ["web_events"]
    assert set(policy.kept_fields) == {"path", "occurred_on"}


def test_the_reference_examples_have_no_retention_problems(example: object) -> None:
    declaration = load_declaration(example)
    assert problems(declaration) == []


def load_declaration(loaded: object) -> Declaration:
    return loaded.declaration  # type: ignore[attr-defined, no-any-return]


# -- bad rules ---------------------------------------------------------------------------------------
def _copy(examples_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "nexalearn"
    shutil.copytree(examples_dir / "nexalearn", root)
    return root


def _edit(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    if not new.strip():
        return 0
    return next(n for n, line in enumerate(text.splitlines(), start=1) if new.strip().splitlines()[0] in line)


def test_a_trigger_column_the_table_does_not_declare_is_refused_at_its_line(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    line = _edit(root / "datasets.yaml", "column: relationship_ended_on", "column: closed_at")

    findings = [f for f in lint(load(root)) if f.finding.rule.id == "retention-trigger-column-undeclared"]

    assert [(Path(f.file).name, f.line) for f in findings] == [("datasets.yaml", line)]
    assert "'account-closure-6m'" in findings[0].finding.message and "'closed_at'" in findings[0].finding.message


def test_anonymising_a_field_a_legal_hold_keeps_is_refused(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    datasets = root / "datasets.yaml"
    data = yaml.safe_load(datasets.read_text(encoding="utf-8"))
    invoices = next(t for t in data["datasets"][0]["tables"] if t["name"] == "invoices")
    invoices["retention"] = [{"rule": "statistics-anonymise", "column": "issued_on"}]
    datasets.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    found = problems(load(root).declaration, "nexalearn")

    assert [(p.kind, p.rule_id) for p in found] == [("hold", "statistics-anonymise")]
    assert "invoices.amount_cents" in found[0].message and "bookkeeping-no" in found[0].message
    assert not [
        p
        for p in rule_policies(load(root).declaration, "nexalearn", date(2026, 1, 1))
        if p.root.table.name == "invoices"
    ]


def test_a_financial_year_trigger_without_the_controllers_financial_year_is_refused(
    examples_dir: Path, tmp_path: Path
) -> None:
    root = _copy(examples_dir, tmp_path)
    _edit(root / "organisation.yaml", '    fiscal_year_end: "12-31"\n', "")

    findings = [f for f in lint(load(root)) if f.finding.rule.id == "retention-fiscal-year-missing"]

    assert findings and all(Path(f.file).name == "datasets.yaml" for f in findings)
    assert "bookkeeping-no" in findings[0].finding.message and "fiscal_year_end" in findings[0].finding.message


def test_a_fiscal_year_end_must_be_a_day_of_the_year(examples_dir: Path, tmp_path: Path) -> None:
    root = _copy(examples_dir, tmp_path)
    _edit(root / "organisation.yaml", 'fiscal_year_end: "12-31"', 'fiscal_year_end: "04-31"')

    import pytest

    from dataright.errors import DeclarationError

    with pytest.raises(DeclarationError, match="04-31"):
        load(root)
