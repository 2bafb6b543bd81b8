"""carts: carts enrolled to stores, and every credential issued to them (only each secret's SHA-256).

Revision ID: 0006_carts
Revises: 0005_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_carts"
down_revision = "0005_console"
branch_labels = None
depends_on = None


def _big(name: str, default: int | None = None) -> sa.Column[int]:
    if default is None:
        return sa.Column(name, sa.BigInteger(), nullable=False)
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=str(default))


def _text(name: str, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("store_id", sa.Text(), sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        _text("cart_id"),
        _text("display_name", default=""),
        sa.Column("traffic_class", sa.Integer(), nullable=False),
        _text("credential_id"),
        _big("create_time_us"),
        _big("revoke_time_us", default=0),
        sa.PrimaryKeyConstraint("store_id", "cart_id"),
    )
    op.create_table(
        "cart_credentials",
        sa.Column("credential_id", sa.Text(), primary_key=True),
        _text("store_id"),
        _text("cart_id"),
        sa.Column("secret_sha256", sa.LargeBinary(), nullable=False),
        _big("create_time_us"),
        _big("revoke_time_us", default=0),
        sa.ForeignKeyConstraint(
            ["store_id", "cart_id"],
            ["carts.store_id", "carts.cart_id"],
            ondelete="CASCADE",
            name="cart_credentials_cart_fkey",
        ),
    )
    op.create_index("cart_credentials_by_cart", "cart_credentials", ["store_id", "cart_id"])


def downgrade() -> None:
    op.drop_index("cart_credentials_by_cart", table_name="cart_credentials")
    op.drop_table("cart_credentials")
    op.drop_table("carts")
