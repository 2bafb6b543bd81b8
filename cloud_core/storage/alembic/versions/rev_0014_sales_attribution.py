"""sales attribution: campaigns' click-/view-through windows, and attributed and halo sales (units and
value at shelf price) in the report rollups.

Revision ID: 0014_sales_attribution
Revises: 0013_index_store_replicas
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_sales_attribution"
down_revision = "0013_index_store_replicas"
branch_labels = None
depends_on = None

_ROLLUPS = ("report_rollups_hourly", "report_rollups_daily", "report_rollups_daily_campaign")
SALES_COLUMNS = (
    "ct_sales_units",
    "ct_sales_micros",
    "vt_sales_units",
    "vt_sales_micros",
    "halo_sales_units",
    "halo_sales_micros",
)
_WINDOWS = ("click_through_window_s", "view_through_window_s")


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        for name in _WINDOWS:
            batch.add_column(_big(name))
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            for name in SALES_COLUMNS:
                batch.add_column(_big(name))


def downgrade() -> None:
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            for name in SALES_COLUMNS:
                batch.drop_column(name)
    with op.batch_alter_table("campaigns") as batch:
        for name in _WINDOWS:
            batch.drop_column(name)
