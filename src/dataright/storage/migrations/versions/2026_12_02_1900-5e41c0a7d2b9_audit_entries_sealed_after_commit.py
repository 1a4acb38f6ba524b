"""audit entries sealed after commit: append order by id, chain place in seq; consent events covered

Writers append entries without reading the chain; the sealer fills ``seq``, ``prev_hash`` and ``hash``.
Existing entries keep their place (``seq = id``) and hashes. Each consent event already recorded gets a
``consent.covered`` entry carrying its content digest, so the chain covers the whole ledger.

Revision ID: 5e41c0a7d2b9
Revises: 148e736f6a7a, 7acf5dc6e796
Create Date: 2026-12-02 19:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5e41c0a7d2b9"
down_revision: str | Sequence[str] | None = ("148e736f6a7a", "7acf5dc6e796")  # joins the two heads main gained
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2_000


def _cover_existing_consent_events() -> None:
    from dataright.audit.models import AuditEntry
    from dataright.consent.coverage import ENTITY_TYPE, event_digest
    from dataright.consent.models import ConsentEvent
    from dataright.storage.types import utcnow

    bind = op.get_bind()
    events = ConsentEvent.__table__
    now = utcnow()
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for start in range(0, len(rows), BATCH):
        bind.execute(
            sa.insert(AuditEntry),
            [
                {
                    "at": now,
                    "actor": "migration",
                    "action": "consent.covered",
                    "entity_type": ENTITY_TYPE,
                    "entity_id": str(row["id"]),
                    "controller_id": row["controller_id"],
                    "details": {"sha256": event_digest(row)},
                }
                for row in rows[start : start + BATCH]
            ],
        )


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_entries SET seq = id")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_seq"), ["seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_entries_id_seq OWNED BY audit_entries.id")
        op.execute("SELECT setval('audit_entries_id_seq', COALESCE((SELECT max(id) FROM audit_entries), 0) + 1, false)")
        op.execute("ALTER TABLE audit_entries ALTER COLUMN id SET DEFAULT nextval('audit_entries_id_seq')")
    # SQLite: an INTEGER PRIMARY KEY is numbered by the database already.
    _cover_existing_consent_events()


def downgrade() -> None:
    bind = op.get_bind()
    unplaced = bind.execute(sa.text("SELECT count(*) FROM audit_entries WHERE seq IS NULL OR seq <> id")).scalar()
    if unplaced:
        raise RuntimeError(
            f"{unplaced} audit entries are not sealed or not in append order; the older schema numbers entries "
            "by their place in the chain and cannot hold them (run `dataright audit verify` to seal them first)"
        )
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_entries ALTER COLUMN id DROP DEFAULT")
        op.execute("DROP SEQUENCE audit_entries_id_seq")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_seq"), type_="unique")
        batch_op.drop_column("seq")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
