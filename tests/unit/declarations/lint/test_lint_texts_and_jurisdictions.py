"""Rules on the notice's languages and on controllers' jurisdictions."""

from __future__ import annotations

from dataright.declarations.lint import check, rule_by_id
from dataright.declarations.schema import Declaration


# -- text-missing-language ------------------------------------------------------------------------
def test_a_purpose_name_lacking_a_controllers_language_is_a_warning(draft) -> None:
    [finding] = draft.purpose("teaching", name={"en": "Teaching"}).findings("text-missing-language")
    assert finding.path == ("purposes", 1, "name")
    assert finding.message == "purpose 'teaching': no 'nb' in name (published by nexalearn)"
    assert finding.severity == "warning"


def test_texts_of_what_a_purpose_uses_need_its_languages(draft) -> None:
    changed = draft.item("retention_rules", "security-logs", description={"en": "Twelve months."})
    [finding] = changed.findings("text-missing-language")
    assert finding.path == ("retention_rules", 3, "description")


def test_a_language_no_controller_publishes_in_is_not_needed(draft) -> None:
    changed = draft.purpose("teaching", name={"en": "Teaching", "nb": "Undervisning"})
    assert changed.findings("text-missing-language") == []


def test_texts_nothing_shows_are_not_checked(draft) -> None:
    unused = {**draft.get("retention_rules", "consent-withdrawn"), "id": "unused", "description": {"en": "Unused."}}
    changed = draft.add("retention_rules", unused)
    assert changed.findings("text-missing-language") == []


# -- unknown-jurisdiction -------------------------------------------------------------------------
# The loader refuses an unknown jurisdiction with its file:line (test_loader); the rule still guards a declaration
# built in code, which never passes through the loader.
def _unchecked(draft) -> Declaration:
    return Declaration.model_validate(draft._data)


def test_an_unknown_jurisdiction_is_an_error_and_the_rules_needing_it_are_skipped(draft) -> None:
    changed = _unchecked(draft.controller("nexalearn", jurisdiction="gdpr-xx").system("scanditek", transfers=()))
    [(path, message)] = changed.reference_problems()  # what the loader reports at the file's line
    assert path == ("controllers", 0, "jurisdiction") and message.startswith("unknown jurisdiction 'gdpr-xx'")
    [finding] = check(changed, [rule_by_id("unknown-jurisdiction")])
    assert finding.path == ("controllers", 0, "jurisdiction")
    assert "unknown jurisdiction 'gdpr-xx'; known: gdpr, gdpr-de, gdpr-dk, gdpr-fi, gdpr-fr, gdpr-no" in finding.message
    assert {f.rule.id for f in check(changed)} == {"unknown-jurisdiction"}


def test_a_legal_hold_under_an_unknown_jurisdiction_is_an_error(draft) -> None:
    changed = _unchecked(draft.item("legal_holds", "bookkeeping-no", jurisdiction="no-bookkeeping"))
    [finding] = check(changed, [rule_by_id("unknown-jurisdiction")])
    assert finding.path == ("legal_holds", 0, "jurisdiction")


def test_known_jurisdictions_pass(draft) -> None:
    assert draft.findings("unknown-jurisdiction") == []


def test_a_name_given_as_a_language_map_lacking_a_published_language_is_a_warning(draft) -> None:
    changed = draft.system("stripe", name={"en": "Stripe payments"})
    [finding] = changed.findings("text-missing-language")
    assert finding.path == ("systems", 1, "name")
    assert "no 'nb' in name" in finding.message


def test_a_plain_name_is_the_same_in_every_language_and_not_warned(draft) -> None:
    assert draft.system("stripe", name="Stripe").findings("text-missing-language") == []
