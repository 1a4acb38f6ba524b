"""The documentation keeps up with the code: every command has an example in docs/commands.md, the Quick start
stays two commands and says the first keeps running, and the example READMEs name their source notice
instead of pointing at files outside this repository."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from dataright.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def _commands(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    subcommands = getattr(command, "commands", None)  # a group (typer vendors its own click)
    if subcommands:
        for name, sub in sorted(subcommands.items()):
            yield from _commands(sub, (*prefix, name))
    else:
        yield " ".join(("dataright", *prefix))


def test_every_command_has_an_example_in_the_command_docs() -> None:
    commands = list(_commands(typer.main.get_command(app)))
    assert "dataright audiences export" in commands and "dataright consent import" in commands
    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    missing = [c for c in commands if not re.search(rf"(^\$ |`){re.escape(c)}\b", text, re.MULTILINE)]
    assert missing == [], f"add an example of each to docs/commands.md (run it against examples/): {missing}"


def test_the_quick_start_is_two_commands_and_says_the_first_keeps_running() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick_start, re.DOTALL)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
    assert "dataright serve --demo" in blocks[0]
    assert "keeps running" in quick_start and "another terminal" in quick_start
    assert "docs/commands.md" in readme


def test_example_readmes_name_their_source_notice_not_a_file_outside_the_repository() -> None:
    for readme in sorted((ROOT / "examples").glob("*/README.md")):
        text = readme.read_text(encoding="utf-8")
        assert "shared/seeds" not in text and "../shared" not in text, readme
    assert '"Privacy Notice NestIT Group" (last updated 2025-07-09' in (
        ROOT / "examples" / "nestit-group" / "README.md"
    ).read_text(encoding="utf-8")
    assert '"Privacy Policy for NexaLearn"' in (ROOT / "examples" / "nexalearn" / "README.md").read_text(
        encoding="utf-8"
    )
