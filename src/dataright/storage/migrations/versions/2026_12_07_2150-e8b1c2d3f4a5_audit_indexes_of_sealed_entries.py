"""audit entries: seq and hash unique among sealed entries only; unsealed entries in an index of their own

An append used to write the NULL ``seq`` and ``hash`` of its unsealed entry into both unique indexes: two
index pages more per committed entry. The unique indexes now hold sealed entries only (the same rule, since
NULLs never clashed), and the sealer finds the entries waiting for it in a small index of their own.

Revision ID: e8b1c2d3f4a5
Revises: b7e2d4f10c55
Create Date: 2026-12-07 21:50:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e8b1c2d3f4a5"
down_revision: str | Sequence[str] | None = "b7e2d4f10c55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSEALED = sa.text("seq IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_entries_seq", type_="unique")
        batch_op.drop_constraint("uq_audit_entries_hash", type_="unique")
    for name, column in (("ux_audit_entries_seq", "seq"), ("ux_audit_entries_hash", "hash")):
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "audit_entries", [column], unique=True, sqlite_where=present, postgresql_where=present)
    op.create_index(
        "ix_audit_entries_unsealed", "audit_entries", ["id"], sqlite_where=UNSEALED, postgresql_where=UNSEALED
    )


def downgrade() -> None:
    for name in ("ix_audit_entries_unsealed", "ux_audit_entries_hash", "ux_audit_entries_seq"):
        op.drop_index(name, table_name="audit_entries")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_audit_entries_hash", ["hash"])
        batch_op.create_unique_constraint("uq_audit_entries_seq", ["seq"])
