"""cookie scans

Revision ID: b7e2d4f10c55
Revises: a3c51e7d9b20
Create Date: 2026-12-07 19:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "b7e2d4f10c55"
down_revision: str | Sequence[str] | None = "a3c51e7d9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cookie_scans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("controller_id", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_scans")),
    )
    op.create_index("ix_cookie_scans_controller", "cookie_scans", ["controller_id", "scanned_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cookie_scans_controller", table_name="cookie_scans")
    op.drop_table("cookie_scans")
