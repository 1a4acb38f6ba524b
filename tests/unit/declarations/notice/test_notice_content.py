"""Every notice a reference organisation publishes names everything its declaration promises."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.loader import LoadedDeclaration
from dataright.declarations.notice import Format, render_notice
from dataright.declarations.notice.labels import label
from dataright.declarations.notice.words import localized
from dataright.declarations.periods import Period
from dataright.declarations.schema import Declaration

Shown = Callable[[str, str], str]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _expected(d: Declaration, controller_id: str, lang: str) -> dict[str, list[str]]:
    """What the notice of ``controller_id`` in ``lang`` must show, straight from the declaration."""
    fallback = d.organisation.default_language
    controller = d.controller_by_id[controller_id]
    purposes = d.purposes_of(controller_id)
    recipients = [
        localized(d.system_by_id[r].name if r in d.system_by_id else d.recipient_by_id[r].name, lang, fallback)
        for p in purposes
        for r in p.recipients
    ]
    # A rule appears when this controller's purposes use it, or when no purpose names it (it applies to all).
    used_anywhere = {p.retention for p in d.purposes}
    mine = {p.retention for p in purposes}
    rules = [r for r in d.retention_rules if r.id in mine or r.id not in used_anywhere]
    pack = get_jurisdiction(controller.jurisdiction)
    rights = [r for r in pack.rights if r in d.rights_of(controller_id).rights]
    return {
        "purpose": [localized(p.name, lang, fallback) for p in purposes],
        "recipient": recipients,
        "retention rule": [localized(r.description, lang, fallback) for r in rules],
        "cookie": [c.name for c in d.cookies_of(controller_id)],
        "right": [label(r, lang) for r in rights],
    }


def _notices(example: LoadedDeclaration) -> list[tuple[str, str, str]]:
    d = example.declaration
    return [(c.id, lang, fmt) for c in d.controllers for lang in c.languages for fmt in ("md", "html")]


def test_every_published_notice_shows_each_purpose_recipient_rule_cookie_and_right(
    example: LoadedDeclaration, shown: Shown
) -> None:
    d = example.declaration
    notices = _notices(example)
    assert notices, "an example publishes at least one notice"
    for controller_id, lang, fmt in notices:
        text = shown(render_notice(d, controller_id, lang, fmt), fmt)
        for kind, names in _expected(d, controller_id, lang).items():
            missing = [n for n in names if _squash(n) not in text]
            assert not missing, f"{controller_id} {lang} {fmt}: {kind}(s) not shown: {missing}"


def test_the_expectations_are_not_empty_for_the_reference_organisations(example: LoadedDeclaration) -> None:
    d = example.declaration
    for controller in d.controllers:
        expected = _expected(d, controller.id, controller.languages[0])
        assert expected["purpose"] and expected["right"] and expected["retention rule"]


def test_nexalearn_states_its_legal_bases_with_the_gdpr_article(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "Performance of a contract (GDPR Art. 6(1)(b))" in text
    assert "Legitimate interests (GDPR Art. 6(1)(f))" in text
    assert "Offering lessons that fit each student's level, age and preferences." in text


def test_nestpros_cites_the_pdpa_for_legitimate_interests(nestpros: Declaration, shown: Shown) -> None:
    assert any(p.legal_basis == "legitimate_interests" for p in nestpros.purposes)
    text = shown(render_notice(nestpros, "nestpros", "en", "html"), "html")
    assert "Legitimate interests (PDPA First Schedule, Part 3)" in text


def test_retention_periods_are_written_in_words_in_the_notice_language(nexalearn: Declaration, shown: Shown) -> None:
    nb = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    en = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "6 måneder" in nb and "Avslutning av kundeforholdet" in nb and "Slettet" in nb
    assert "6 months" in en and "End of the customer relationship" in en
    assert "5 år" in nb and "bokføringsloven § 13" in nb


def test_transfers_name_the_country_in_the_notice_language_with_mechanism_and_reference(
    nexalearn: Declaration, shown: Shown
) -> None:
    nb = shown(render_notice(nexalearn, "nexalearn", "nb", "html"), "html")
    assert "Marokko ScandiTek Standard personvernbestemmelser (standardavtaler)" in nb
    # The reference is a language map (item 7): the Norwegian notice cites the decision in Norwegian.
    assert "Kommisjonens gjennomføringsbeslutning (EU) 2021/914, modul 2" in nb
    assert "Commission Implementing Decision" not in nb
    en = shown(render_notice(nexalearn, "nexalearn", "en", "html"), "html")
    assert "Commission Implementing Decision (EU) 2021/914, module 2" in en
    assert "USA Stripe" in nb
    # Ireland and Norway are inside the EEA: no transfer to show.
    assert "Irland Stripe" not in nb


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_response_deadline_is_the_controllers_stricter_promise_with_no_invented_extension(
    nexalearn: Declaration, shown: Shown, fmt: Format
) -> None:
    # The GDPR allows one month and two more; NexaLearn promises "senest innen 30 dager" and no extension.
    assert nexalearn.rights is not None and nexalearn.rights.extension is None
    text = shown(render_notice(nexalearn, "nexalearn", "en", fmt), fmt)
    assert "at the latest within 30 days of receiving your request" in text
    assert "extend this by a further" not in text and "tell you in writing within" not in text


def test_a_declared_extension_is_offered_as_declared(nestit: Declaration, shown: Shown) -> None:
    # NestIT: "within 30 days ... requires considerable effort ... within two months": 30 days and one more month.
    text = shown(render_notice(nestit, "nestit-group-ab", "en", "md"), "md")
    assert "extend this by a further" in text and "month" in text


def test_a_gdpr_controller_promising_nothing_of_its_own_gets_the_laws_extension(
    nexalearn: Declaration, shown: Shown
) -> None:
    rights = nexalearn.rights.model_copy(update={"response_time": None})  # type: ignore[union-attr]
    d = nexalearn.model_copy(update={"rights": rights})
    text = shown(render_notice(d, "nexalearn", "en", "md"), "md")
    assert "extend this by a further" in text


def test_every_example_declares_the_response_time_and_extension_its_source_notice_promises(
    example: LoadedDeclaration,
) -> None:
    # From the source notices (shared/seeds): NexaLearn "senest innen 30 dager" (no extension); NestIT "within
    # 30 days ... within two months" (30 days and one more month); Nestpros "within 30 calendar days", more time
    # "with notification" (no period: the PDPA's written notice applies).
    promised = {
        "nexalearn": (Period.parse("P30D"), None),
        "nestit-group": (Period.parse("P30D"), Period.parse("P1M")),
        "nestpros": (Period.parse("P30D"), None),
    }
    d = example.declaration
    for c in d.controllers:
        h = d.rights_of(c.id)
        assert (h.response_time, h.extension) == promised[d.organisation.id], c.id


def test_the_pdpa_notice_has_no_extension_but_a_written_notice_of_delay(nestpros: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nestpros, "nestpros", "en", "md"), "md")
    assert "we will tell you in writing within 30 days when we will be able to answer" in text
    assert "extend this by a further" not in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_rights_a_controller_offers_beyond_its_law_are_shown(nestpros: Declaration, shown: Shown, fmt: Format) -> None:
    # The PDPA grants access, correction and withdrawal; Nestpros also promises deletion, restriction, portability
    # and objection. The statutory list is a floor, never a filter.
    text = shown(render_notice(nestpros, "nestpros", "en", fmt), fmt)
    for right in (
        "Right of access",
        "Right to rectification",
        "Right to withdraw consent",
        "Right to lodge a complaint",
    ):
        assert right in text
    for right in (
        "Right to erasure",
        "Right to restriction of processing",
        "Right to data portability",
        "Right to object",
    ):
        assert right in text


def test_statutory_rights_are_shown_even_when_the_controller_leaves_one_out(
    nexalearn: Declaration, shown: Shown
) -> None:
    rights = nexalearn.rights.model_copy(update={"rights": ("access", "rectification")})  # type: ignore[union-attr]
    text = shown(render_notice(nexalearn.model_copy(update={"rights": rights}), "nexalearn", "en", "md"), "md")
    assert "Right to erasure" in text and "Right to data portability" in text


def test_singapore_citations_name_deemed_consent_by_conduct_and_the_business_improvement_schedule(
    nestpros: Declaration, shown: Shown
) -> None:
    text = shown(render_notice(nestpros, "nestpros", "en", "md"), "md")
    assert "Performance of a contract (PDPA s. 15(1) (deemed consent by conduct))" in text
    assert "Business improvement (PDPA Second Schedule, Part 2, Division 2)" in text
    assert "s. 15(3)" not in text and "First Schedule, Part 5" not in text


def test_the_pdpc_age_is_called_guidance_not_law(nestpros: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nestpros, "nestpros", "en", "md"), "md")
    assert "The law lets children" not in text
    assert (
        "The law sets no age for consent; guidance from the data protection authority, which is not itself law" in text
    )
    assert "for children under 18, a parent or guardian must consent on their behalf" in text


@pytest.mark.parametrize(
    ("d_name", "controller", "lang"), [("nexalearn", "nexalearn", "en"), ("nexalearn", "nexalearn", "nb")]
)
def test_the_gdpr_age_is_said_to_apply_to_information_society_services(
    request: pytest.FixtureRequest, shown: Shown, d_name: str, controller: str, lang: str
) -> None:
    d = request.getfixturevalue(d_name)
    text = shown(render_notice(d, controller, lang, "md"), "md")
    expected = {
        "en": "Where information society services are offered directly to a child",
        "nb": "informasjonssamfunnstjenester",
    }
    assert expected[lang] in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_declared_security_measures_reach_the_notice(nestpros: Declaration, shown: Shown, fmt: Format) -> None:
    # "Encryption of sensitive data in transit and at rest".
    text = shown(render_notice(nestpros, "nestpros", "en", fmt), fmt)
    assert "How we protect your personal data" in text
    assert "encryption of sensitive data in transit and at rest" in text


def test_a_guardian_is_not_said_to_act_for_a_child_where_the_basis_is_legitimate_interests(
    nexalearn: Declaration, shown: Shown
) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "acts on the child's behalf" not in text
    section = text[text.index("Children") :]
    assert "Managing the customer relationship" in section  # contract: the guardian enters into it
    assert "- Security" not in section and "Personalising the learning experience" not in section.split("Automated")[0]


def test_the_complaint_names_the_supervisory_authority_with_its_address(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "har du rett til å klage til Datatilsynet." in text
    assert "https://www.datatilsynet.no" in text


def test_the_childrens_section_gives_the_stricter_age_and_the_statutory_one(
    nexalearn: Declaration, shown: Shown
) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "from the age of 13 (personopplysningsloven § 5)" in text
    assert "for children under 16, a parent or guardian must consent" in text
    assert "Students under 16" in text


def test_joint_controllers_are_named_with_contact_point_and_essence(nestit: Declaration, shown: Shown) -> None:
    arrangement = nestit.joint_arrangements[0]
    for controller_id in arrangement.controllers:
        lang = nestit.controller_by_id[controller_id].languages[0]
        text = shown(render_notice(nestit, controller_id, lang, "md"), "md")
        assert _squash(arrangement.essence[lang]) in text
        point = nestit.controller_by_id[arrangement.contact_point]
        assert point.legal_name in text and (point.contact.email or "") in text


def test_withdrawal_and_objection_methods_are_listed_per_purpose(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "Analysis and statistics: withdraw via the cookie settings" in text
    assert "Personalising the learning experience: object via an e-mail to us or your account settings" in text


def test_communication_topics_say_how_to_unsubscribe(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "Bursdagshilsener:" in text
    assert "Du kan melde deg av via avmeldingslenken i hver melding eller kontoinnstillingene dine." in text


def test_cookie_table_rows_carry_provider_category_duration_and_purpose(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "en", "html"), "html")
    assert "_ga Google Analytics (third party) Statistics and performance 2 years" in text
    assert "nexalearn_session NexaLearn Strictly necessary Until you close the browser" in text


def test_version_effective_date_and_change_notification_are_shown(nexalearn: Declaration, shown: Shown) -> None:
    text = shown(render_notice(nexalearn, "nexalearn", "nb", "md"), "md")
    assert "Dette er versjon 2024-07-30 av personvernerklæringen, gjeldende fra 30. juli 2024." in text
    assert _squash(nexalearn.notice.change_notification["nb"]) in text  # type: ignore[index]


def test_a_notice_without_automated_decisions_says_so(nexalearn: Declaration, shown: Shown) -> None:
    assert not any(p.automated_decision_making for p in nexalearn.purposes)
    text = shown(render_notice(nexalearn, "nexalearn", "en", "md"), "md")
    assert "We do not make decisions based solely on automated processing" in text
