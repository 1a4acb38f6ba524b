"""The SQL connector: PostgreSQL, MariaDB/MySQL and SQLite through SQLAlchemy Core."""

from dataright.connectors.sql.connector import SqlConnector

__all__ = ["SqlConnector"]
