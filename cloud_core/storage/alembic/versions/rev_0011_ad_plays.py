"""ad plays: the first rung of the impression ladder (the ad was put on screen) in the report rollups.

Revision ID: 0011_ad_plays
Revises: 0009_report_over_delivery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_ad_plays"
down_revision = "0010_review_audit"
branch_labels = None
depends_on = None

_TABLES = ("report_rollups_hourly", "report_rollups_daily", "report_rollups_daily_campaign")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("plays", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("plays")
