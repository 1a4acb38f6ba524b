"""The record of processing: one row per controller and purpose, every field of its law's frame filled
(GDPR Art. 30(1)(a)-(g))."""

from __future__ import annotations

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.loader import LoadedDeclaration
from dataright.declarations.ropa import COLUMNS, build_record, columns_for, headings, record_frame
from dataright.declarations.schema import Declaration


def test_there_is_one_row_per_controller_and_purpose(example: LoadedDeclaration) -> None:
    d = example.declaration
    rows = build_record(d)
    expected = [(c.id, p.id) for c in d.controllers for p in d.purposes_of(c.id)]
    assert [(r["controller_id"], r["purpose_id"]) for r in rows] == expected


def test_every_field_of_the_frame_is_filled_in_every_row(example: LoadedDeclaration) -> None:
    rows = build_record(example.declaration)
    keys = [c.key for c in columns_for(record_frame(example.declaration))]
    assert rows
    for row in rows:
        assert list(row) == keys
        empty = [key for key in keys if not row[key].strip()]
        assert not empty, f"{row['controller_id']}/{row['purpose_id']}: empty {empty}"


def test_the_gdpr_frame_covers_art30_1_a_to_g() -> None:
    frame = get_jurisdiction("gdpr").record
    assert set(frame.fields) == {c.key for c in COLUMNS} - {"controller_id", "purpose_id"}
    points = {text["en"] for text in frame.fields.values()}
    assert {f"Art. 30(1)({x})" for x in "abcdefg"} <= points


def test_legally_optional_fields_say_none_when_absent(nexalearn: Declaration) -> None:
    rows = {r["purpose_id"]: r for r in build_record(nexalearn)}
    assert all(r["dpo"] == "none" and r["representative"] == "none" for r in rows.values())
    assert all(r["joint_controllers"] == "none" for r in rows.values())
    assert rows["targeted-advertising"]["transfers"] == "none"  # no recipients at all
    assert rows["targeted-advertising"]["recipients"] == "none"


def test_a_dpo_is_given_with_contact_details(nestpros: Declaration) -> None:
    row = build_record(nestpros)[0]
    assert "privacy@nestpros.info" in row["dpo"]


def test_transfers_name_country_recipient_safeguard_and_its_documentation(nexalearn: Declaration) -> None:
    rows = {r["purpose_id"]: r for r in build_record(nexalearn)}
    assert rows["payment"]["transfers"] == (
        "United States (Stripe): Standard contractual clauses, Stripe DPA, SCC module 2"
    )
    assert "Morocco (ScandiTek): Standard contractual clauses" in rows["teaching"]["transfers"]


def test_recipients_carry_role_and_countries(nexalearn: Declaration) -> None:
    payment = next(r for r in build_record(nexalearn) if r["purpose_id"] == "payment")
    assert (
        "Stripe (Stripe Payments Europe Ltd): Data processor acting on our instructions; Ireland and United States"
        in (payment["recipients"])
    )
    assert "Public authorities where the law requires it: Public authorities" in payment["recipients"]


def test_time_limits_give_the_rule_and_each_legal_hold(nexalearn: Declaration) -> None:
    payment = next(r for r in build_record(nexalearn) if r["purpose_id"] == "payment")
    assert payment["retention"].startswith("6 months, counted from: End of the customer relationship, then: Deleted.")
    assert (
        "Legal hold: 5 years, counted from: End of the financial year (bokføringsloven § 13)." in payment["retention"]
    )


def test_legal_basis_has_its_citation_and_the_legitimate_interest(nexalearn: Declaration) -> None:
    rows = {r["purpose_id"]: r for r in build_record(nexalearn)}
    assert rows["payment"]["legal_basis"] == "Performance of a contract (GDPR Art. 6(1)(b))"
    assert rows["security"]["legal_basis"].startswith(
        "Legitimate interests (GDPR Art. 6(1)(f)); Our legitimate interest: "
    )


def test_security_measures_come_from_the_controller(nexalearn: Declaration) -> None:
    measures = nexalearn.controllers[0].security_measures
    assert measures is not None
    assert {r["security_measures"] for r in build_record(nexalearn)} == {measures["en"]}


def test_missing_security_measures_are_reported_as_not_declared(nexalearn: Declaration) -> None:
    bare = nexalearn.controllers[0].model_copy(update={"security_measures": None})
    d = nexalearn.model_copy(update={"controllers": (bare,)})
    assert {r["security_measures"] for r in build_record(d)} == {"not declared"}


def test_joint_controllers_are_named_for_purposes_under_an_arrangement(nestit: Declaration) -> None:
    arrangement = nestit.joint_arrangements[0]
    rows = build_record(nestit)
    joint = [r for r in rows if r["purpose_id"] in arrangement.purposes]
    assert joint
    for row in joint:
        others = [nestit.controller_by_id[c].legal_name for c in arrangement.controllers if c != row["controller_id"]]
        assert all(name in row["joint_controllers"] for name in others)
        assert "Contact point: " in row["joint_controllers"]
    assert any(r["joint_controllers"] == "none" for r in rows if r["purpose_id"] not in arrangement.purposes)


def test_labels_and_values_follow_the_requested_language(nexalearn: Declaration) -> None:
    row = build_record(nexalearn, "nb")[0]
    assert row["dpo"] == "ingen"
    assert row["legal_basis"] == "Oppfyllelse av en avtale (personvernforordningen artikkel 6 nr. 1 bokstav b)"
    assert headings("nb")[COLUMNS.index(next(c for c in COLUMNS if c.key == "retention"))] == (
        "Frister for sletting [art. 30 nr. 1 bokstav f]"
    )
    assert headings()[2] == "Controller [Art. 30(1)(a)]"
