"""creative review and the audit trail: a creative's review status, and who changed what.

Creatives that exist when this runs were already serving: they are approved (grandfathered), so an
upgrade takes no ad off the carts. Every creative made after it starts pending (the column default).

Revision ID: 0010_review_audit
Revises: 0009_report_over_delivery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_review_audit"
down_revision = "0009_report_over_delivery"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_APPROVED = 2


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("creatives") as batch:
        batch.add_column(sa.Column("review_status", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("review_time_us", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reviewed_by", sa.Text(), nullable=False, server_default=""))
    op.execute(sa.text(f"UPDATE creatives SET review_status = {_APPROVED}"))
    op.create_table(
        "audit_entries",
        sa.Column("seq", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        _text("actor_token_id"),
        _text("actor_display_name"),
        _text("actor_role"),
        _text("method"),
        _text("resource_type"),
        _text("resource_id"),
        _text("changes_json"),
        sqlite_autoincrement=True,
    )
    op.create_index("audit_entries_by_resource", "audit_entries", ["resource_type", "resource_id", "seq"])
    op.create_index("audit_entries_by_actor", "audit_entries", ["actor_token_id", "seq"])
    op.create_index("audit_entries_by_time", "audit_entries", ["time_us"])


def downgrade() -> None:
    op.drop_table("audit_entries")
    with op.batch_alter_table("creatives") as batch:
        for column in ("reviewed_by", "review_time_us", "review_reason", "review_status"):
            batch.drop_column(column)
