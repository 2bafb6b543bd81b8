"""The whole schema of the sqlite3-era migrations 1-5, plus the columns several replicas need.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# INTEGER on SQLite so autoincrement keys alias the rowid; BIGSERIAL on PostgreSQL.
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _big(name: str, default: int | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=None if default is None else str(default))


def _int(name: str, default: int | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=None if default is None else str(default))


def _text(name: str, default: str | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def upgrade() -> None:
    op.create_table(
        "advertisers",
        sa.Column("advertiser_id", sa.Text(), primary_key=True),
        _text("display_name"),
        _big("create_time_us"),
    )
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.Text(), primary_key=True),
        sa.Column("advertiser_id", sa.Text(), sa.ForeignKey("advertisers.advertiser_id"), nullable=False),
        _text("display_name"),
        _big("start_time_us"),
        _big("end_time_us"),
        _big("budget_micros"),
        _int("state"),
        _big("create_time_us"),
        _int("frequency_cap_per_session", 0),
        sa.CheckConstraint("budget_micros > 0", name="campaigns_budget_positive"),
    )
    op.create_index("campaigns_by_advertiser", "campaigns", ["advertiser_id", "campaign_id"])
    op.create_table(
        "creatives",
        sa.Column("creative_id", sa.Text(), primary_key=True),
        sa.Column("advertiser_id", sa.Text(), sa.ForeignKey("advertisers.advertiser_id"), nullable=False),
        _text("display_name"),
        _int("format"),
        _text("headline"),
        _text("body"),
        _text("image_url"),
        _text("promoted_product_id"),
        _text("call_to_action"),
        _text("offer_text"),
        _text("coupon_code"),
        _big("create_time_us"),
        _text("image_asset_sha256", ""),
        _text("recipe_product_ids_json", "[]"),
    )
    op.create_index("creatives_by_advertiser", "creatives", ["advertiser_id", "creative_id"])
    op.create_table(
        "line_items",
        sa.Column("line_item_id", sa.Text(), primary_key=True),
        sa.Column("campaign_id", sa.Text(), sa.ForeignKey("campaigns.campaign_id"), nullable=False),
        _text("display_name"),
        _int("pricing_model"),
        _big("bid_micros"),
        _text("targeting_json"),
        _int("frequency_cap_per_session"),
        _int("state"),
        _big("create_time_us"),
        _int("priority_tier", 0),
        _int("creative_frequency_cap_per_session", 0),
        _text("exclusion_label", ""),
        sa.CheckConstraint("bid_micros > 0", name="line_items_bid_positive"),
    )
    op.create_index("line_items_by_campaign", "line_items", ["campaign_id", "line_item_id"])
    op.create_table(
        "line_item_creatives",
        sa.Column(
            "line_item_id", sa.Text(), sa.ForeignKey("line_items.line_item_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("creative_id", sa.Text(), sa.ForeignKey("creatives.creative_id"), nullable=False),
        _int("position"),
        sa.PrimaryKeyConstraint("line_item_id", "creative_id"),
    )
    op.create_index("line_item_creatives_by_creative", "line_item_creatives", ["creative_id"])
    op.create_table(
        "line_item_stores",
        sa.Column(
            "line_item_id", sa.Text(), sa.ForeignKey("line_items.line_item_id", ondelete="CASCADE"), nullable=False
        ),
        _text("store_id"),
        sa.PrimaryKeyConstraint("line_item_id", "store_id"),
    )
    op.create_index("line_item_stores_by_store", "line_item_stores", ["store_id"])
    op.create_table(
        "stores",
        sa.Column("store_id", sa.Text(), primary_key=True),
        _text("display_name"),
        _text("time_zone"),
        sa.Column("signing_key", sa.LargeBinary(), nullable=False),
        _big("create_time_us"),
    )
    op.create_table(
        "aisles",
        sa.Column("store_id", sa.Text(), sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        _text("aisle_id"),
        _text("display_name"),
        _text("zone_id"),
        sa.PrimaryKeyConstraint("store_id", "aisle_id"),
    )
    op.create_table(
        "departments",
        sa.Column("store_id", sa.Text(), sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        _text("department_id"),
        _text("display_name"),
        sa.PrimaryKeyConstraint("store_id", "department_id"),
    )
    op.create_table(
        "products",
        sa.Column("store_id", sa.Text(), sa.ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
        _text("product_id"),
        _text("display_name"),
        _text("aisle_id"),
        _text("department_id"),
        _text("brand"),
        _big("price_micros"),
        sa.PrimaryKeyConstraint("store_id", "product_id"),
    )
    op.create_table(
        "events",
        _text("store_id"),
        _text("event_id"),
        _text("edge_id"),
        _big("seq"),
        _int("event_type"),
        _text("cart_id"),
        _text("session_id"),
        _text("ad_id"),
        _text("campaign_id"),
        _text("line_item_id"),
        _text("outcome"),
        _big("charge_micros"),
        _big("occur_time_us"),
        _big("receive_time_us"),
        _big("ingest_time_us"),
        sa.UniqueConstraint("store_id", "event_id", name="events_store_id_event_id_key"),
    )
    op.create_table(
        "billed_ads",
        _text("ad_id"),
        _int("event_type"),
        _text("store_id"),
        _text("event_id"),
        sa.PrimaryKeyConstraint("ad_id", "event_type"),
    )
    op.create_table(
        "ledger",
        sa.Column("entry_id", _ROW_ID, primary_key=True, autoincrement=True),
        _text("store_id"),
        _text("event_id"),
        _text("ad_id"),
        _int("event_type"),
        _text("advertiser_id"),
        _text("campaign_id"),
        _text("line_item_id"),
        _int("pricing_model"),
        _big("charge_micros"),
        _big("create_time_us"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "spend",
        _text("store_id"),
        _text("campaign_id"),
        _text("line_item_id"),
        _big("impressions", 0),
        _big("clicks", 0),
        _big("spend_micros", 0),
        _big("conversions", 0),
        sa.PrimaryKeyConstraint("store_id", "campaign_id", "line_item_id"),
    )
    op.create_index("spend_by_campaign", "spend", ["campaign_id"])
    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", _ROW_ID, primary_key=True, autoincrement=True),
        _text("store_id"),
        _text("edge_id"),
        _big("seq"),
        _text("event_id"),
        _text("reason"),
        sa.Column("event_blob", sa.LargeBinary(), nullable=False),
        _big("create_time_us"),
        sa.UniqueConstraint("store_id", "edge_id", "seq", "event_id", name="dead_letters_identity_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("dead_letters_by_store", "dead_letters", ["store_id", "dead_letter_id"])
    op.create_table(
        "hourly_rollups",
        _text("campaign_id"),
        _text("line_item_id"),
        _text("store_id"),
        _big("hour_start_us"),
        _big("impressions", 0),
        _big("clicks", 0),
        _big("conversions", 0),
        _big("spend_micros", 0),
        sa.PrimaryKeyConstraint("campaign_id", "line_item_id", "store_id", "hour_start_us"),
    )
    op.create_index("hourly_rollups_by_hour", "hourly_rollups", ["hour_start_us"])
    op.create_table(
        "store_traffic_hourly",
        _text("store_id"),
        _big("hour_start_us"),
        _big("events", 0),
        sa.PrimaryKeyConstraint("store_id", "hour_start_us"),
    )
    op.create_table(
        "edges",
        _text("store_id"),
        _text("edge_id"),
        _text("applied_version"),
        _text("last_nonce"),
        _big("last_ack_time_us", 0),
        _big("last_nack_time_us", 0),
        _text("last_error"),
        _big("last_seen_us"),
        _int("connected", 0),
        _text("current_version", ""),
        _text("last_answer", ""),
        _text("last_nack_version", ""),
        _text("replica_id", ""),
        sa.PrimaryKeyConstraint("store_id", "edge_id"),
    )
    op.create_table(
        "assets",
        sa.Column("sha256", sa.Text(), primary_key=True),
        _text("content_type"),
        _int("width"),
        _int("height"),
        _big("size_bytes"),
        _int("sanitized", 0),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _big("create_time_us"),
    )
    op.create_table(
        "index_changes",
        sa.Column("store_id", sa.Text(), primary_key=True),
        _big("generation", 0),
    )


def downgrade() -> None:
    for table in (
        "index_changes",
        "assets",
        "edges",
        "store_traffic_hourly",
        "hourly_rollups",
        "dead_letters",
        "spend",
        "ledger",
        "billed_ads",
        "events",
        "products",
        "departments",
        "aisles",
        "stores",
        "line_item_stores",
        "line_item_creatives",
        "line_items",
        "creatives",
        "campaigns",
        "advertisers",
    ):
        op.drop_table(table)
