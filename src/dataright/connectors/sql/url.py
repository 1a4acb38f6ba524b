"""A dataset's SQLAlchemy URL: ``${VAR}`` secrets from the environment, the driver dataright ships."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import URL, make_url

from dataright.declarations.datasets import expand
from dataright.errors import ConfigurationError

DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def resolve_url(template: str, environ: Mapping[str, str], *, where: str) -> URL:
    text = expand(template, environ, where=where)
    try:
        url = make_url(text)
    except Exception:
        raise ConfigurationError(f"{where}: not a SQLAlchemy URL (dialect+driver://user:password@host/db)") from None
    driver = DRIVERS.get(url.drivername)
    return url.set(drivername=driver) if driver else url
