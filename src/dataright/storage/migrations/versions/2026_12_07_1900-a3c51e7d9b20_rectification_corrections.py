"""rectification corrections

Revision ID: a3c51e7d9b20
Revises: f036f3f493db
Create Date: 2026-12-07 19:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "a3c51e7d9b20"
down_revision: str | Sequence[str] | None = "f036f3f493db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.add_column(sa.Column("corrections_ciphertext", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.drop_column("corrections_ciphertext")
