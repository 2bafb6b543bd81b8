"""auth tokens: bearer tokens (stored by the SHA-256 of their secret) and asset uploaders.

Revision ID: 0002_auth
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_auth"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text(), primary_key=True),
        sa.Column("secret_sha256", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("advertiser_id", sa.Text(), nullable=False, server_default=""),
        sa.Column("store_id", sa.Text(), nullable=False, server_default=""),
        sa.Column("display_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("create_time_us", sa.BigInteger(), nullable=False),
        sa.Column("revoke_time_us", sa.BigInteger(), nullable=False, server_default="0"),
        sa.UniqueConstraint("secret_sha256", name="api_tokens_secret_sha256_key"),
    )
    op.create_table(
        "asset_uploaders",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("advertiser_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "advertiser_id"),
    )


def downgrade() -> None:
    op.drop_table("asset_uploaders")
    op.drop_table("api_tokens")
