"""index store and replicas: compiled index versions in the database, compile leases, replica heartbeats.

Revision ID: 0013_index_store_replicas
Revises: 0012_report_exports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_index_store_replicas"
down_revision = "0012_report_exports"
branch_labels = None
depends_on = None


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "compiled_indexes",
        _text("store_id"),
        _text("version"),
        _big("generation"),
        _big("compiled_us"),
        _big("size_bytes"),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "version"),
    )
    op.create_index("compiled_indexes_by_time", "compiled_indexes", ["store_id", "compiled_us"])
    op.create_table(
        "compiled_index_heads",
        sa.Column("store_id", sa.Text(), primary_key=True),
        _text("version"),
        _big("generation"),
        _big("compiled_us"),
        _text("replica_id"),
    )
    op.create_table(
        "compile_leases",
        sa.Column("store_id", sa.Text(), primary_key=True),
        _text("holder"),
        _big("expires_us"),
    )
    op.create_table(
        "replica_heartbeats",
        sa.Column("replica_id", sa.Text(), primary_key=True),
        _big("started_us"),
        _big("heartbeat_us"),
    )


def downgrade() -> None:
    op.drop_table("replica_heartbeats")
    op.drop_table("compile_leases")
    op.drop_table("compiled_index_heads")
    op.drop_index("compiled_indexes_by_time", table_name="compiled_indexes")
    op.drop_table("compiled_indexes")
