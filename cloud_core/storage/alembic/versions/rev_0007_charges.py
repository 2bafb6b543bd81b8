"""charges: per-edge signing keys, the terms of every index version sent to a store (and the assets
it referenced), flagged edges, dead-letter reason codes and over-delivery.

Revision ID: 0007_charges
Revises: 0006_carts
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0007_charges"
down_revision = "0006_carts"
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
        "edge_signing_keys",
        sa.Column("key_id", sa.Text(), primary_key=True),
        _text("store_id"),
        _text("edge_id"),
        sa.Column("signing_key", sa.LargeBinary(), nullable=False),
        _text("registered_by"),
        _big("create_time_us"),
        _big("revoke_time_us", default=0),
    )
    op.create_index("edge_signing_keys_by_edge", "edge_signing_keys", ["store_id", "edge_id"])
    op.create_table(
        "index_terms",
        sa.Column("terms_sha256", sa.Text(), primary_key=True),
        sa.Column("terms", sa.LargeBinary(), nullable=False),
        _big("create_time_us"),
    )
    op.create_table(
        "index_versions_sent",
        _text("store_id"),
        _text("version"),
        _text("terms_sha256"),
        _big("first_sent_us"),
        _big("last_sent_us"),
        sa.PrimaryKeyConstraint("store_id", "version"),
    )
    op.create_index("index_versions_sent_by_time", "index_versions_sent", ["last_sent_us"])
    op.create_table(
        "store_assets",
        _text("store_id"),
        _text("sha256"),
        _big("create_time_us"),
        sa.PrimaryKeyConstraint("store_id", "sha256"),
    )
    op.create_table(
        "cloud_settings",
        sa.Column("name", sa.Text(), primary_key=True),
        _big("value"),
    )
    # When this database started recording per-edge keys and terms: tokens of the store's shared
    # key are billed until token_ttl_s after it unless the operator sets another cut-over.
    op.bulk_insert(
        sa.table("cloud_settings", sa.column("name", sa.Text()), sa.column("value", sa.BigInteger())),
        [{"name": "per_edge_keys_since_us", "value": time.time_ns() // 1000}],
    )
    op.add_column("edges", sa.Column("flagged", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("edges", _text("flag_reason", default=""))
    op.add_column("edges", _big("flag_time_us", default=0))
    op.add_column("edges", _big("flag_count", default=0))
    op.add_column("dead_letters", sa.Column("reason_code", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("dead_letters", _text("signing_key_id", default=""))
    op.add_column("dead_letters", _big("claimed_charge_micros", default=0))
    op.add_column("spend", _big("over_delivery_micros", default=0))
    op.add_column("spend", _big("over_delivered", default=0))


def downgrade() -> None:
    with op.batch_alter_table("spend") as batch:
        batch.drop_column("over_delivered")
        batch.drop_column("over_delivery_micros")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("claimed_charge_micros")
        batch.drop_column("signing_key_id")
        batch.drop_column("reason_code")
    with op.batch_alter_table("edges") as batch:
        batch.drop_column("flag_count")
        batch.drop_column("flag_time_us")
        batch.drop_column("flag_reason")
        batch.drop_column("flagged")
    op.drop_table("cloud_settings")
    op.drop_table("store_assets")
    op.drop_index("index_versions_sent_by_time", table_name="index_versions_sent")
    op.drop_table("index_versions_sent")
    op.drop_table("index_terms")
    op.drop_index("edge_signing_keys_by_edge", table_name="edge_signing_keys")
    op.drop_table("edge_signing_keys")
