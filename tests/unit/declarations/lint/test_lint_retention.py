"""Rules on storage limitation: every purpose has a retention rule, and every rule an action."""

from __future__ import annotations


def test_a_purpose_without_retention_is_an_error(draft) -> None:
    [finding] = draft.purpose("teaching", retention=None).findings("purpose-without-retention")
    assert finding.path == ("purposes", 1, "retention")
    assert "user.name, user.demographic.date_of_birth, nexalearn.learning_activity" in finding.message


def test_purposes_with_retention_rules_pass(draft) -> None:
    assert draft.findings("purpose-without-retention") == []


def test_a_retention_rule_without_an_action_is_an_error(draft) -> None:
    changed = draft.item("retention_rules", "security-logs", action=None)
    [finding] = changed.findings("retention-without-action")
    assert finding.path == ("retention_rules", 3, "action")


def test_retention_rules_with_actions_pass(draft) -> None:
    assert draft.findings("retention-without-action") == []


def _second_controller(draft):  # type: ignore[no-untyped-def]
    other = {**draft.get("controllers", "nexalearn"), "id": "nexalearn-se", "country": "SE", "jurisdiction": "gdpr-se"}
    return draft.add("controllers", other)


def test_a_hold_that_binds_none_of_the_purposes_controllers_is_flagged(draft) -> None:
    changed = _second_controller(draft).item("legal_holds", "bookkeeping-no", controllers=["nexalearn-se"])
    [finding] = changed.findings("legal-hold-binds-no-controller")
    assert finding.path == ("purposes", 2, "legal_holds", 0)
    assert "binds nexalearn-se" in finding.message


def test_a_hold_bound_to_the_purposes_controller_passes(draft) -> None:
    changed = _second_controller(draft).item("legal_holds", "bookkeeping-no", controllers=["nexalearn"])
    assert changed.findings("legal-hold-binds-no-controller") == []


def test_an_unscoped_hold_binds_every_controller(draft) -> None:
    assert draft.findings("legal-hold-binds-no-controller") == []


def test_a_withdrawal_rule_that_runs_from_another_event_is_flagged(draft) -> None:
    analytics = draft.get("purposes", "analytics")
    consent = {**analytics["consent"], "after_withdrawal": "security-logs"}
    [finding] = draft.purpose("analytics", consent=consent).findings("withdrawal-retention-wrong-trigger")
    assert finding.path[-2:] == ("consent", "after_withdrawal")
    assert "'security-logs' runs from collection" in finding.message


def test_a_withdrawal_rule_that_runs_from_the_withdrawal_passes(draft) -> None:
    assert draft.get("purposes", "analytics")["consent"]["after_withdrawal"] == "consent-withdrawn"
    assert draft.findings("withdrawal-retention-wrong-trigger") == []
