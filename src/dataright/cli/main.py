"""The ``dataright`` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from dataright.cli import (
    audit,
    breach,
    consent,
    cookies,
    database,
    datasets,
    declarations,
    documents,
    dsr,
    jobs,
    keys,
    lint,
    mail,
    requests,
    retention,
    serve,
    shipped,
)

app = typer.Typer(
    name="dataright",
    help="Privacy operations as code: declarations, notices, consent, rights requests and retention.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

declarations.register(app)
lint.register(app)
database.register(app)
audit.register(app)
keys.register(app)
documents.register(app)
consent.register(app)
cookies.register(app)
requests.register(app)
mail.register(app)
breach.register(app)
dsr.register(app)
datasets.register(app)
retention.register(app)
serve.register(app)
jobs.register(app)
shipped.register(app)


if __name__ == "__main__":
    app()
