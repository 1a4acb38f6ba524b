"""Storage: the engine and sessions, portable column types, the declarative base and Alembic migrations."""
