"""pacing and request counts: line items' pacing type and daily budget, rollups by
trigger (learned click rates), the edges' hourly request counts (traffic profiles), and the pacing
controller's state.

Revision ID: 0003_pacing
Revises: 0002_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_pacing"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def _big(name: str, default: int | None = None) -> sa.Column[int]:
    if default is None:
        return sa.Column(name, sa.BigInteger(), nullable=False)
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=str(default))


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.add_column("line_items", sa.Column("pacing_type", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("line_items", _big("daily_budget_micros", 0))
    op.create_table(
        "trigger_rollups_hourly",
        _text("line_item_id"),
        _int("trigger"),
        _text("store_id"),
        _big("hour_start_us"),
        _big("impressions", 0),
        _big("clicks", 0),
        _big("conversions", 0),
        sa.PrimaryKeyConstraint("line_item_id", "trigger", "store_id", "hour_start_us"),
    )
    op.create_index("trigger_rollups_by_hour", "trigger_rollups_hourly", ["hour_start_us"])
    op.create_table(
        "request_count_records",
        _text("store_id"),
        _text("record_id"),
        _text("edge_id"),
        _big("create_time_us"),
        sa.PrimaryKeyConstraint("store_id", "record_id"),
    )
    op.create_table(
        "request_counts_hourly",
        _text("store_id"),
        _big("hour_start_us"),
        _int("trigger"),
        _int("no_fill_reason"),
        _big("requests", 0),
        _big("ads", 0),
        sa.PrimaryKeyConstraint("store_id", "hour_start_us", "trigger", "no_fill_reason"),
    )
    op.create_index("request_counts_by_hour", "request_counts_hourly", ["hour_start_us"])
    op.create_table(
        "line_item_requests_hourly",
        _text("store_id"),
        _text("line_item_id"),
        _big("hour_start_us"),
        _big("ads", 0),
        _big("throttled", 0),
        sa.PrimaryKeyConstraint("store_id", "line_item_id", "hour_start_us"),
    )
    op.create_table(
        "pacing_state",
        _text("store_id"),
        _text("pacing_key"),
        sa.Column("rate", sa.Float(), nullable=False),
        _big("updated_us"),
        _big("spent_micros", 0),
        _big("day_start_us", 0),
        sa.PrimaryKeyConstraint("store_id", "pacing_key"),
    )


def downgrade() -> None:
    for table in (
        "pacing_state",
        "line_item_requests_hourly",
        "request_counts_hourly",
        "request_count_records",
        "trigger_rollups_hourly",
    ):
        op.drop_table(table)
    op.drop_column("line_items", "daily_budget_micros")
    op.drop_column("line_items", "pacing_type")
