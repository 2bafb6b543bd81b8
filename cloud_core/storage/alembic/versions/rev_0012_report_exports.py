"""report exports: long reports run as background jobs, their state and CSV chunks in the database.

Revision ID: 0012_report_exports
Revises: 0009_report_over_delivery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_report_exports"
down_revision = "0011_ad_plays"
branch_labels = None
depends_on = None


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def _text(name: str, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def upgrade() -> None:
    op.create_table(
        "report_exports",
        sa.Column("export_id", sa.Text(), primary_key=True),
        _text("advertiser_id", default=""),
        sa.Column("request", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("stores_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("stores_total", sa.Integer(), nullable=False, server_default="0"),
        _big("row_count"),
        _big("byte_count"),
        _text("error", default=""),
        _text("runner", default=""),
        sa.Column("create_time_us", sa.BigInteger(), nullable=False),
        sa.Column("update_time_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "report_export_chunks",
        sa.Column("export_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("export_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("report_export_chunks")
    op.drop_table("report_exports")
