"""Rules on who receives the data: processors' contracts, joint controllers, transfers abroad."""

from __future__ import annotations


# -- processor-without-dpa ------------------------------------------------------------------------
def test_a_processor_without_a_dpa_is_an_error(draft) -> None:
    [finding] = draft.system("hotjar", dpa=None).findings("processor-without-dpa")
    assert finding.path == ("systems", 4, "dpa")


def test_a_separate_controller_needs_no_dpa(draft) -> None:
    assert draft.system("hotjar", dpa=None, role="controller").findings("processor-without-dpa") == []


def test_the_pdpa_sets_no_article_28_contract(under_pdpa) -> None:
    assert under_pdpa.system("hotjar", dpa=None).findings("processor-without-dpa") == []


# -- joint-processing-without-arrangement ---------------------------------------------------------
def _with_partner(draft):
    partner = {**draft.get("controllers", "nexalearn"), "id": "partner", "legal_name": "Partner AS"}
    return draft.add("controllers", partner).purpose("teaching", controllers=("nexalearn", "partner"))


def _arrangement(controllers=("nexalearn", "partner"), purposes=("teaching",)):
    return {
        "id": "joint-teaching",
        "controllers": controllers,
        "purposes": purposes,
        "contact_point": "nexalearn",
        "essence": {"en": "Who answers what.", "nb": "Hvem svarer på hva."},
    }


def test_a_purpose_with_several_controllers_and_no_arrangement_is_an_error(draft) -> None:
    [finding] = _with_partner(draft).findings("joint-processing-without-arrangement")
    assert finding.path == ("purposes", 1, "joint_arrangement")
    assert "several controllers (nexalearn, partner)" in finding.message


def test_an_arrangement_that_leaves_out_a_controller_is_an_error(draft) -> None:
    third = {**draft.get("controllers", "nexalearn"), "id": "third", "legal_name": "Third AS"}
    changed = (
        _with_partner(draft)
        .add("controllers", third)
        .purpose("teaching", controllers=("nexalearn", "partner", "third"), joint_arrangement="joint-teaching")
        .add("joint_arrangements", _arrangement())
    )
    [finding] = changed.findings("joint-processing-without-arrangement")
    assert finding.path == ("purposes", 1, "controllers", 2)
    assert "processed by third, which its joint arrangement (joint-teaching) does not include" in finding.message


def test_an_arrangement_named_by_a_purpose_it_does_not_list_is_an_error(draft) -> None:
    changed = (
        _with_partner(draft)
        .purpose("teaching", controllers=("nexalearn", "partner"), joint_arrangement="joint-teaching")
        .add("joint_arrangements", _arrangement(purposes=("support",)))
    )
    [finding] = changed.findings("joint-processing-without-arrangement")
    assert finding.path == ("joint_arrangements", 0, "purposes")


def test_separate_controllers_cannot_also_be_joint(draft) -> None:
    changed = (
        _with_partner(draft)
        .purpose("teaching", controllers=("nexalearn", "partner"), separate_controllers=True)
        .add("joint_arrangements", _arrangement())
    )
    [finding] = changed.findings("joint-processing-without-arrangement")
    assert finding.path == ("purposes", 1, "separate_controllers")


def test_a_covering_arrangement_passes(draft) -> None:
    changed = _with_partner(draft).add("joint_arrangements", _arrangement())
    assert changed.findings("joint-processing-without-arrangement") == []


def test_separate_controllers_need_no_arrangement(draft) -> None:
    changed = _with_partner(draft).purpose("teaching", controllers=("nexalearn", "partner"), separate_controllers=True)
    assert changed.findings("joint-processing-without-arrangement") == []


# -- transfer-without-mechanism -------------------------------------------------------------------
def test_processing_in_a_third_country_without_a_mechanism_is_an_error(draft) -> None:
    [finding] = draft.system("scanditek", transfers=()).findings("transfer-without-mechanism")
    assert finding.path == ("systems", 0, "processing_countries", 0)
    assert finding.message.startswith("system 'scanditek' processes data in MA, outside gdpr-no's home region")
    assert "purposes 'customer-relationship', 'teaching', 'personalisation', 'security'" in finding.message
    assert finding.reference == "GDPR Chapter V (Art. 44-49)"


def test_a_transfer_entry_without_mechanism_is_pointed_at(draft) -> None:
    [finding] = draft.system("stripe", transfers=({"country": "US"},)).findings("transfer-without-mechanism")
    assert finding.path == ("systems", 1, "transfers", 0, "mechanism")
    assert "'stripe' processes and stores data in US" in finding.message


def test_a_recipient_abroad_needs_a_mechanism(draft) -> None:
    changed = draft.item("recipients", "authorities", country="US")
    [finding] = changed.findings("transfer-without-mechanism")
    assert finding.path == ("recipients", 0, "country")


def test_a_purpose_transfer_without_mechanism_is_an_error(draft) -> None:
    [finding] = draft.purpose("support", transfers=({"country": "US"},)).findings("transfer-without-mechanism")
    assert finding.path == ("purposes", 3, "transfers", 0, "mechanism")


def test_the_pdpas_comparable_protection_is_no_gdpr_mechanism(draft) -> None:
    changed = draft.system("stripe", transfers=({"country": "US", "mechanism": "comparable_protection"},))
    [finding] = changed.findings("transfer-without-mechanism")
    assert finding.path == ("systems", 1, "transfers", 0, "mechanism")


def test_under_the_pdpa_europe_is_abroad(under_pdpa) -> None:
    findings = under_pdpa.system("hotjar", transfers=()).findings("transfer-without-mechanism")
    hotjar = [f for f in findings if f.path[:2] == ("systems", 4)]
    assert [f.path for f in hotjar] == [
        ("systems", 4, "processing_countries", 0),
        ("systems", 4, "processing_countries", 1),
    ]
    assert {f.reference for f in hotjar} == {"PDPA s. 26; PDP Regulations 2021 Part 3"}


def test_a_mechanism_on_the_purpose_covers_its_recipient(draft) -> None:
    changed = draft.system("stripe", transfers=()).purpose(
        "payment", transfers=({"country": "US", "mechanism": "scc"},)
    )
    assert changed.findings("transfer-without-mechanism") == []


def test_transfers_to_adequate_countries_need_no_mechanism(draft) -> None:
    changed = draft.system("hotjar", processing_countries=("CH", "GB"), storage_countries=("JP",))
    assert changed.purpose("support", transfers=({"country": "CH"},)).findings("transfer-without-mechanism") == []


# -- adequacy-not-recognised ----------------------------------------------------------------------
def test_adequacy_claimed_for_a_country_without_a_decision_is_a_warning(draft) -> None:
    changed = draft.system("stripe", transfers=({"country": "US", "mechanism": "adequacy"},))
    [finding] = changed.findings("adequacy-not-recognised")
    assert finding.path == ("systems", 1, "transfers", 0, "mechanism")
    assert finding.severity == "warning"


def test_adequacy_with_its_decision_named_passes(draft) -> None:
    entry = {"country": "US", "mechanism": "adequacy", "reference": "EU-US Data Privacy Framework certification"}
    assert draft.system("stripe", transfers=(entry,)).findings("adequacy-not-recognised") == []


def test_adequacy_for_a_listed_country_passes(draft) -> None:
    entry = {"country": "GB", "mechanism": "adequacy"}
    assert (
        draft.system("hotjar", processing_countries=("GB",), transfers=(entry,)).findings("adequacy-not-recognised")
        == []
    )
