"""experiments and reports: experiment layers, report rollups by creative and arm,
and the per-trip outcomes experiment lift is computed from.

Revision ID: 0004_experiments
Revises: 0003_pacing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_experiments"
down_revision = "0003_pacing"
branch_labels = None
depends_on = None


def _big(name: str, default: int | None = None) -> sa.Column[int]:
    if default is None:
        return sa.Column(name, sa.BigInteger(), nullable=False)
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=str(default))


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "experiment_layers",
        sa.Column("layer_id", sa.Text(), primary_key=True),
        _text("display_name"),
        _text("salt"),
        sa.Column("state", sa.Integer(), nullable=False),
        _text("arms_json"),
        _big("create_time_us"),
    )
    for name in ("report_rollups_hourly", "report_rollups_daily"):
        # Daily: hour_start_us is the UTC day's first hour.
        op.create_table(
            name,
            _text("layer_id"),
            _big("hour_start_us"),
            _text("store_id"),
            _text("campaign_id"),
            _text("line_item_id"),
            _text("creative_id"),
            _text("arm_id"),
            _text("advertiser_id"),
            _big("impressions", 0),
            _big("clicks", 0),
            _big("conversions", 0),
            _big("spend_micros", 0),
            _big("sales_micros", 0),
            sa.PrimaryKeyConstraint(
                "layer_id", "hour_start_us", "store_id", "campaign_id", "line_item_id", "creative_id", "arm_id"
            ),
            # Clustered on the key on SQLite (ignored elsewhere): a report's time range reads sequentially.
            sqlite_with_rowid=False,
        )
    op.create_index(
        "report_rollups_by_advertiser", "report_rollups_hourly", ["advertiser_id", "layer_id", "hour_start_us"]
    )
    op.create_index(
        "report_rollups_daily_by_advertiser", "report_rollups_daily", ["advertiser_id", "layer_id", "hour_start_us"]
    )
    op.create_index(
        "report_rollups_daily_by_campaign", "report_rollups_daily", ["campaign_id", "layer_id", "hour_start_us"]
    )
    # Per UTC day without store and creative: most reports need no more.
    op.create_table(
        "report_rollups_daily_campaign",
        _text("layer_id"),
        _big("hour_start_us"),
        _text("campaign_id"),
        _text("line_item_id"),
        _text("arm_id"),
        _text("advertiser_id"),
        _big("impressions", 0),
        _big("clicks", 0),
        _big("conversions", 0),
        _big("spend_micros", 0),
        _big("sales_micros", 0),
        sa.PrimaryKeyConstraint("layer_id", "hour_start_us", "campaign_id", "line_item_id", "arm_id"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "report_rollups_daily_campaign_by_advertiser",
        "report_rollups_daily_campaign",
        ["advertiser_id", "layer_id", "hour_start_us"],
    )
    op.create_table(
        "experiment_trips",
        _text("store_id"),
        _text("session_id"),
        _text("layer_id"),
        _text("arm_id"),
        _big("hour_start_us"),
        _big("sales_micros", 0),
        sa.PrimaryKeyConstraint("store_id", "session_id", "layer_id"),
    )
    op.create_table(
        "experiment_trip_rollups_hourly",
        _text("layer_id"),
        _big("hour_start_us"),
        _text("store_id"),
        _text("arm_id"),
        _big("trips", 0),
        _big("converting_trips", 0),
        _big("sales_micros", 0),
        _big("sales_sq_cents2", 0),
        sa.PrimaryKeyConstraint("layer_id", "hour_start_us", "store_id", "arm_id"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("experiment_trip_rollups_hourly")
    op.drop_table("experiment_trips")
    op.drop_index("report_rollups_daily_campaign_by_advertiser", table_name="report_rollups_daily_campaign")
    op.drop_table("report_rollups_daily_campaign")
    op.drop_index("report_rollups_daily_by_campaign", table_name="report_rollups_daily")
    op.drop_index("report_rollups_daily_by_advertiser", table_name="report_rollups_daily")
    op.drop_table("report_rollups_daily")
    op.drop_index("report_rollups_by_advertiser", table_name="report_rollups_hourly")
    op.drop_table("report_rollups_hourly")
    op.drop_table("experiment_layers")
