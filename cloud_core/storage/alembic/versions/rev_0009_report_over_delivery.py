"""report over-delivery: delivery past a campaign's budget in the report rollups.

Revision ID: 0009_report_over_delivery
Revises: 0008_ivt
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_report_over_delivery"
down_revision = "0008_ivt"
branch_labels = None
depends_on = None

_TABLES = ("report_rollups_hourly", "report_rollups_daily", "report_rollups_daily_campaign")
_COLUMNS = ("over_delivery_micros", "over_delivered_events")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _COLUMNS:
                batch.add_column(sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(_COLUMNS):
                batch.drop_column(column)
