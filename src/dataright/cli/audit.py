"""``dataright audit``: seal and verify the hash chain, print its signed head."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from dataright.audit.service import HeadError, SignedHead, check_head, current_head, seal_pending, verify
from dataright.cli.common import console, err_console, fail
from dataright.cli.database import open_engine, settings_or_exit
from dataright.consent.coverage import CONSENT_EVENTS
from dataright.errors import ConfigurationError
from dataright.storage.engine import make_session_factory, session_scope

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def _head_key() -> bytes:
    try:
        return settings_or_exit().keys().audit_head
    except ConfigurationError as exc:
        fail(f"error: {exc} (signed heads are keyed with it)")
        raise  # unreachable: fail exits


@audit_app.command("verify")
def verify_command(
    expect_head: Annotated[
        Path | None,
        typer.Option(
            "--expect-head",
            help="A signed head written earlier (`audit head`, or the server's audit_head_file): fail when the "
            "chain is shorter than it or differs from it.",
            dir_okay=False,
        ),
    ] = None,
    seal: Annotated[
        bool, typer.Option(help="Seal entries appended since the sealer last ran before verifying.")
    ] = True,
) -> None:
    """Recompute the chain and the consent events it covers; exit 1 naming the first bad entry or event."""
    head: SignedHead | None = None
    if expect_head is not None:
        try:
            head = SignedHead.loads(expect_head.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"error: --expect-head {expect_head}: {exc.strerror or exc}")
        except HeadError as exc:
            fail(f"error: --expect-head {expect_head}: not a signed audit head: {exc}")
    key = _head_key() if head is not None else b""
    engine = open_engine(settings_or_exit())
    try:
        factory = make_session_factory(engine)
        if seal:
            seal_pending(partial(session_scope, factory))
        with session_scope(factory, write=False) as session:
            report = verify(session, [CONSENT_EVENTS])
            problem = check_head(session, head, key) if head is not None and report.ok else None
    finally:
        engine.dispose()
    if not report.ok:
        fail(str(report))
    if problem is not None:
        fail(f"audit chain does not extend the head in {expect_head}: {problem}")
    console.print(str(report), markup=False)
    if head is not None:
        console.print(f"extends the head in {expect_head} (entry #{head.seq}, signed {head.at.isoformat()})")
    if report.unsealed and not seal:
        err_console.print(
            f"note: {report.unsealed} entries are not sealed yet; their content is not yet protected by the chain",
            markup=False,
        )


@audit_app.command("head")
def head_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the head to this file instead of printing it.")
    ] = None,
) -> None:
    """Seal what was appended, then print the chain's signed head (sequence, hash, time, HMAC-SHA256 signature)."""
    key = _head_key()
    engine = open_engine(settings_or_exit())
    try:
        factory = make_session_factory(engine)
        seal_pending(partial(session_scope, factory))
        with session_scope(factory, write=False) as session:
            head = current_head(session, key)
    finally:
        engine.dispose()
    if output is None:
        console.print(head.dumps(), markup=False, end="")
        return
    try:
        output.write_text(head.dumps(), encoding="utf-8")
    except OSError as exc:
        fail(f"error: --output {output}: {exc.strerror or exc}")
    console.print(f"wrote the head (entry #{head.seq}) to {output}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
