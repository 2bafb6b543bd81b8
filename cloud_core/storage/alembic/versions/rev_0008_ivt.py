"""ivt: each event's invalid traffic rule, its hourly rollups, and each edge's disagreements with the cloud.

Revision ID: 0008_ivt
Revises: 0007_charges
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ivt"
down_revision = "0007_charges"
branch_labels = None
depends_on = None


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def _text(name: str, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("invalid_rule", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("events_by_cart_time", "events", ["store_id", "cart_id", "receive_time_us"])
    op.create_table(
        "invalid_rollups_hourly",
        _text("campaign_id"),
        _text("line_item_id"),
        _text("store_id"),
        sa.Column("hour_start_us", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.Integer(), nullable=False),
        _text("advertiser_id", default=""),
        _big("impressions"),
        _big("clicks"),
        _big("conversions"),
        _big("events"),
        sa.PrimaryKeyConstraint("campaign_id", "line_item_id", "store_id", "hour_start_us", "rule"),
    )
    op.create_index("invalid_rollups_by_hour", "invalid_rollups_hourly", ["hour_start_us"])
    op.create_table(
        "edge_ivt_disagreements",
        _text("store_id"),
        _text("edge_id"),
        _big("events"),
        sa.PrimaryKeyConstraint("store_id", "edge_id"),
    )


def downgrade() -> None:
    op.drop_table("edge_ivt_disagreements")
    op.drop_index("invalid_rollups_by_hour", table_name="invalid_rollups_hourly")
    op.drop_table("invalid_rollups_hourly")
    op.drop_index("events_by_cart_time", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("invalid_rule")
