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
