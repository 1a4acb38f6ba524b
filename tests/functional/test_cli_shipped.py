"""`dataright jurisdictions` and `dataright languages` list what this installation ships."""

from __future__ import annotations

from typer.testing import CliRunner

from dataright.cli.main import app
from dataright.declarations.jurisdictions import all_jurisdictions
from dataright.declarations.notice.i18n import catalog_languages

runner = CliRunner()


def test_jurisdictions_lists_every_pack_with_its_authority_and_age() -> None:
    result = runner.invoke(app, ["jurisdictions", "--plain"])
    assert result.exit_code == 0, result.output
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert set(rows) == set(all_jurisdictions())
    assert {"gdpr-dk", "gdpr-fi", "gdpr-de", "gdpr-fr"} <= set(rows)
    assert rows["gdpr-dk"][3].startswith("Datatilsynet (the Danish") and rows["gdpr-dk"][4] == "13"
    assert rows["gdpr-fi"][3].startswith("Tietosuojavaltuutettu") and rows["gdpr-fi"][4] == "13"
    assert "BfDI" in rows["gdpr-de"][3] and "Land" in rows["gdpr-de"][3] and rows["gdpr-de"][4] == "16"
    assert rows["gdpr-fr"][3].startswith("CNIL") and rows["gdpr-fr"][4] == "15"
    assert rows["gdpr-no"][1] == "gdpr" and rows["pdpa-sg"][5] == "P30D"


def test_jurisdictions_prints_a_table_by_default() -> None:
    result = runner.invoke(app, ["jurisdictions"])
    assert result.exit_code == 0, result.output
    assert f"{len(all_jurisdictions())} jurisdictions" in result.stdout


def test_languages_lists_the_source_language_and_every_complete_catalog() -> None:
    result = runner.invoke(app, ["languages", "--plain"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows[0] == ["en", "English", "source language"]
    assert [r[0] for r in rows[1:]] == list(catalog_languages())
    assert {"nb", "sv", "da", "de", "fi", "fr"} <= {r[0] for r in rows}
    assert all(r[2] == "complete" for r in rows[1:])
