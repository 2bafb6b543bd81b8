"""The cloud schema as SQLAlchemy Core tables, for both engines (SQLite and PostgreSQL).

The tables here are what queries are written against; the DDL that creates them lives in the
Alembic revisions under ``storage/alembic/versions`` (which never import this module), and
``tests/cloud_core/storage/test_migrations.py`` checks that the two agree.

Integers that can exceed 2**31 (micros, microsecond times, counters, sequence numbers) are
BigInteger. SQLite stores every integer in up to 8 bytes anyway; its autoincrement keys must be
declared INTEGER (a rowid alias), hence ``_ROW_ID``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BIGSERIAL on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT on SQLite.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


def _big(name: str, *, default: int | None = None) -> Column[int]:
    if default is None:
        return Column(name, BigInteger, nullable=False)
    return Column(name, BigInteger, nullable=False, server_default=str(default))


def _int(name: str, *, default: int | None = None) -> Column[int]:
    if default is None:
        return Column(name, Integer, nullable=False)
    return Column(name, Integer, nullable=False, server_default=str(default))


def _text(name: str, *, default: str | None = None) -> Column[str]:
    if default is None:
        return Column(name, Text, nullable=False)
    return Column(name, Text, nullable=False, server_default=default)


# ---- admin resources (migrations 1, 4, 5) ----

advertisers = Table(
    "advertisers",
    metadata,
    Column("advertiser_id", Text, primary_key=True),
    _text("display_name"),
    _big("create_time_us"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", Text, primary_key=True),
    Column("advertiser_id", Text, ForeignKey("advertisers.advertiser_id"), nullable=False),
    _text("display_name"),
    _big("start_time_us"),
    _big("end_time_us"),
    _big("budget_micros"),
    _int("state"),
    _big("create_time_us"),
    _int("frequency_cap_per_session", default=0),
    # Sales attribution windows (migration 0014); 0 is the same trip only.
    _big("click_through_window_s", default=0),
    _big("view_through_window_s", default=0),
    CheckConstraint("budget_micros > 0", name="campaigns_budget_positive"),
)
Index("campaigns_by_advertiser", campaigns.c.advertiser_id, campaigns.c.campaign_id)

creatives = Table(
    "creatives",
    metadata,
    Column("creative_id", Text, primary_key=True),
    Column("advertiser_id", Text, ForeignKey("advertisers.advertiser_id"), nullable=False),
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
    _text("image_asset_sha256", default=""),
    _text("recipe_product_ids_json", default="[]"),
    # Creative review (migration 10): CreativeReviewStatus, PENDING (1) until an admin approves it.
    _int("review_status", default=1),
    _text("review_reason", default=""),
    _big("review_time_us", default=0),
    _text("reviewed_by", default=""),
)
Index("creatives_by_advertiser", creatives.c.advertiser_id, creatives.c.creative_id)

line_items = Table(
    "line_items",
    metadata,
    Column("line_item_id", Text, primary_key=True),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id"), nullable=False),
    _text("display_name"),
    _int("pricing_model"),
    _big("bid_micros"),
    _text("targeting_json"),
    _int("frequency_cap_per_session"),
    _int("state"),
    _big("create_time_us"),
    _int("priority_tier", default=0),
    _int("creative_frequency_cap_per_session", default=0),
    _text("exclusion_label", default=""),
    # Pacing (migration 0003): cartads.v1.PacingType, and the daily budget (0: derived).
    _int("pacing_type", default=0),
    _big("daily_budget_micros", default=0),
    CheckConstraint("bid_micros > 0", name="line_items_bid_positive"),
)
Index("line_items_by_campaign", line_items.c.campaign_id, line_items.c.line_item_id)

line_item_creatives = Table(
    "line_item_creatives",
    metadata,
    Column("line_item_id", Text, ForeignKey("line_items.line_item_id", ondelete="CASCADE"), nullable=False),
    Column("creative_id", Text, ForeignKey("creatives.creative_id"), nullable=False),
    _int("position"),
    PrimaryKeyConstraint("line_item_id", "creative_id"),
)
Index("line_item_creatives_by_creative", line_item_creatives.c.creative_id)

line_item_stores = Table(
    "line_item_stores",
    metadata,
    Column("line_item_id", Text, ForeignKey("line_items.line_item_id", ondelete="CASCADE"), nullable=False),
    _text("store_id"),
    PrimaryKeyConstraint("line_item_id", "store_id"),
)
Index("line_item_stores_by_store", line_item_stores.c.store_id)

# ---- stores and catalogs (migration 1) ----

stores = Table(
    "stores",
    metadata,
    Column("store_id", Text, primary_key=True),
    _text("display_name"),
    _text("time_zone"),
    Column("signing_key", LargeBinary, nullable=False),
    _big("create_time_us"),
)

# ---- enrolled carts (migration 0006) ----

# A cart enrolled to a store; revoked carts stay (revoke_time_us set), so that enrolling one again
# keeps its history. ``credential_id`` is its current credential's.
carts = Table(
    "carts",
    metadata,
    Column("store_id", Text, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
    _text("cart_id"),
    _text("display_name", default=""),
    _int("traffic_class"),
    _text("credential_id"),
    # When the current credential was issued (a cart enrolled again starts anew).
    _big("create_time_us"),
    # 0 while the cart is enrolled.
    _big("revoke_time_us", default=0),
    PrimaryKeyConstraint("store_id", "cart_id"),
)

# Every credential ever issued to a cart, revoked ones included: the cloud judges an event by whether
# its credential was the store's cart's, unrevoked, when the event was received. Only the SHA-256 of
# the secret is kept (cartads/cart_credential.py: 256 random bits need no slow hash).
cart_credentials = Table(
    "cart_credentials",
    metadata,
    Column("credential_id", Text, primary_key=True),
    _text("store_id"),
    _text("cart_id"),
    Column("secret_sha256", LargeBinary, nullable=False),
    _big("create_time_us"),
    # 0 while the credential is valid.
    _big("revoke_time_us", default=0),
    ForeignKeyConstraint(
        ["store_id", "cart_id"],
        ["carts.store_id", "carts.cart_id"],
        ondelete="CASCADE",
        name="cart_credentials_cart_fkey",
    ),
)
Index("cart_credentials_by_cart", cart_credentials.c.store_id, cart_credentials.c.cart_id)

aisles = Table(
    "aisles",
    metadata,
    Column("store_id", Text, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
    _text("aisle_id"),
    _text("display_name"),
    _text("zone_id"),
    PrimaryKeyConstraint("store_id", "aisle_id"),
)

departments = Table(
    "departments",
    metadata,
    Column("store_id", Text, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
    _text("department_id"),
    _text("display_name"),
    PrimaryKeyConstraint("store_id", "department_id"),
)

products = Table(
    "products",
    metadata,
    Column("store_id", Text, ForeignKey("stores.store_id", ondelete="CASCADE"), nullable=False),
    _text("product_id"),
    _text("display_name"),
    _text("aisle_id"),
    _text("department_id"),
    _text("brand"),
    _big("price_micros"),
    PrimaryKeyConstraint("store_id", "product_id"),
)

# ---- events, billing and rollups (migrations 1, 3) ----

events = Table(
    "events",
    metadata,
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
    # The cloud's invalid traffic verdict (an InvalidTrafficRule; 0: valid; migration 0008).
    _int("invalid_rule", default=0),
    # The durable identity uploads are deduplicated on (exactly-once ingest).
    UniqueConstraint("store_id", "event_id", name="events_store_id_event_id_key"),
)

# A decision is billable once per kind: one impression, one click.
billed_ads = Table(
    "billed_ads",
    metadata,
    _text("ad_id"),
    _int("event_type"),
    _text("store_id"),
    _text("event_id"),
    PrimaryKeyConstraint("ad_id", "event_type"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("entry_id", _ROW_ID, primary_key=True, autoincrement=True),
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

# Rollup kept in the ledger's transaction, so reports never scan raw events.
spend = Table(
    "spend",
    metadata,
    _text("store_id"),
    _text("campaign_id"),
    _text("line_item_id"),
    _big("impressions", default=0),
    _big("clicks", default=0),
    _big("spend_micros", default=0),
    _big("conversions", default=0),
    # Delivery past the campaign's budget (migration 0007): what it would have cost, never charged.
    _big("over_delivery_micros", default=0),
    _big("over_delivered", default=0),
    PrimaryKeyConstraint("store_id", "campaign_id", "line_item_id"),
)
Index("spend_by_campaign", spend.c.campaign_id)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", _ROW_ID, primary_key=True, autoincrement=True),
    _text("store_id"),
    _text("edge_id"),
    _big("seq"),
    _text("event_id"),
    _text("reason"),
    Column("event_blob", LargeBinary, nullable=False),
    _big("create_time_us"),
    # Migration 0007: why as a DeadLetterReason (0 for dead letters recorded before codes), the key
    # the event's token names, and what it would have charged.
    _int("reason_code", default=0),
    _text("signing_key_id", default=""),
    _big("claimed_charge_micros", default=0),
    UniqueConstraint("store_id", "edge_id", "seq", "event_id", name="dead_letters_identity_key"),
    sqlite_autoincrement=True,
)
Index("dead_letters_by_store", dead_letters.c.store_id, dead_letters.c.dead_letter_id)

hourly_rollups = Table(
    "hourly_rollups",
    metadata,
    _text("campaign_id"),
    _text("line_item_id"),
    _text("store_id"),
    _big("hour_start_us"),
    _big("impressions", default=0),
    _big("clicks", default=0),
    _big("conversions", default=0),
    _big("spend_micros", default=0),
    PrimaryKeyConstraint("campaign_id", "line_item_id", "store_id", "hour_start_us"),
)
Index("hourly_rollups_by_hour", hourly_rollups.c.hour_start_us)

store_traffic_hourly = Table(
    "store_traffic_hourly",
    metadata,
    _text("store_id"),
    _big("hour_start_us"),
    _big("events", default=0),
    PrimaryKeyConstraint("store_id", "hour_start_us"),
)

# ---- edge sync status (migrations 1, 2) ----

edges = Table(
    "edges",
    metadata,
    _text("store_id"),
    _text("edge_id"),
    _text("applied_version"),
    _text("last_nonce"),
    _big("last_ack_time_us", default=0),
    _big("last_nack_time_us", default=0),
    _text("last_error"),
    _big("last_seen_us"),
    _int("connected", default=0),
    _text("current_version", default=""),
    _text("last_answer", default=""),
    _text("last_nack_version", default=""),
    # The cloud replica whose index stream holds the edge (several replicas share one database).
    _text("replica_id", default=""),
    # Migration 0007: set when the edge uploaded an event no honest edge sends (a forged charge);
    # flag_count keeps counting after an admin clears the flag.
    _int("flagged", default=0),
    _text("flag_reason", default=""),
    _big("flag_time_us", default=0),
    _big("flag_count", default=0),
    PrimaryKeyConstraint("store_id", "edge_id"),
)

# ---- charges the cloud can vouch for (migration 0007) ----

# Tracking token keys, one per edge (or several after rotation); the key bytes never leave the cloud
# again. A key id is registered once: to one store and edge, by one credential.
edge_signing_keys = Table(
    "edge_signing_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    _text("store_id"),
    _text("edge_id"),
    Column("signing_key", LargeBinary, nullable=False),
    _text("registered_by"),
    _big("create_time_us"),
    _big("revoke_time_us", default=0),
)
Index("edge_signing_keys_by_edge", edge_signing_keys.c.store_id, edge_signing_keys.c.edge_id)

# What index versions allowed (cloud_core/compile/terms.py, encoded), keyed by the encoding's sha256:
# most versions differ only in budgets and rates, not terms, so many versions share one row.
index_terms = Table(
    "index_terms",
    metadata,
    Column("terms_sha256", Text, primary_key=True),
    Column("terms", LargeBinary, nullable=False),
    _big("create_time_us"),
)

# Which versions the cloud sent to which store, when, and their terms (kept terms_retention_days).
index_versions_sent = Table(
    "index_versions_sent",
    metadata,
    _text("store_id"),
    _text("version"),
    _text("terms_sha256"),
    _big("first_sent_us"),
    _big("last_sent_us"),
    PrimaryKeyConstraint("store_id", "version"),
)
Index("index_versions_sent_by_time", index_versions_sent.c.last_sent_us)

# The assets an index version sent to a store referenced: all that store's edges may fetch.
store_assets = Table(
    "store_assets",
    metadata,
    _text("store_id"),
    _text("sha256"),
    _big("create_time_us"),
    PrimaryKeyConstraint("store_id", "sha256"),
)

# Named integers the cloud keeps about itself, e.g. when per-edge keys began (legacy token cut-over).
cloud_settings = Table(
    "cloud_settings",
    metadata,
    Column("name", Text, primary_key=True),
    _big("value"),
)

# ---- assets (migration 5) ----

assets = Table(
    "assets",
    metadata,
    Column("sha256", Text, primary_key=True),
    _text("content_type"),
    _int("width"),
    _int("height"),
    _big("size_bytes"),
    _int("sanitized", default=0),
    Column("data", LargeBinary, nullable=False),
    _big("create_time_us"),
)

# ---- cross-replica change notification (migration 0001) ----

# One row per store ('' = every store): bumped in the transaction of each index-affecting change,
# polled by every replica so a change made through one reaches the index streams of all.
index_changes = Table(
    "index_changes",
    metadata,
    Column("store_id", Text, primary_key=True),
    _big("generation", default=0),
)

# ---- the index store and replicas (migration 0013) ----

# Compiled index versions, the deterministic serialized StoreIndex, so a replica's memory holds a
# bounded cache of them, not every store's history; ``generation`` is the store's change counter
# (index_changes: its row plus the every-store row) read before the compile read its inputs.
compiled_indexes = Table(
    "compiled_indexes",
    metadata,
    _text("store_id"),
    _text("version"),
    _big("generation"),
    _big("compiled_us"),
    _big("size_bytes"),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("store_id", "version"),
)
Index("compiled_indexes_by_time", compiled_indexes.c.store_id, compiled_indexes.c.compiled_us)

# Each store's newest compiled version: what every replica serves while its generation is current.
compiled_index_heads = Table(
    "compiled_index_heads",
    metadata,
    Column("store_id", Text, primary_key=True),
    _text("version"),
    _big("generation"),
    _big("compiled_us"),
    _text("replica_id"),
)

# Which replica compiles a store now, until when: one compile per store across replicas.
compile_leases = Table(
    "compile_leases",
    metadata,
    Column("store_id", Text, primary_key=True),
    _text("holder"),
    _big("expires_us"),
)

# Each replica's last sign of life: the edges of one that stopped beating are shown disconnected.
replica_heartbeats = Table(
    "replica_heartbeats",
    metadata,
    Column("replica_id", Text, primary_key=True),
    _big("started_us"),
    _big("heartbeat_us"),
)

# ---- auth tokens (migration 0002) ----

# Bearer tokens; only the SHA-256 of each secret is kept (see cloud_core/access/api_tokens.py for why).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", Text, primary_key=True),
    _text("secret_sha256"),
    _text("role"),
    _text("advertiser_id", default=""),
    _text("store_id", default=""),
    _text("display_name", default=""),
    _big("create_time_us"),
    # 0 while the token is valid.
    _big("revoke_time_us", default=0),
    UniqueConstraint("secret_sha256", name="api_tokens_secret_sha256_key"),
)

# Which advertiser tokens uploaded which asset: an advertiser's creatives may show only those (assets
# are content-addressed and shared, so the same bytes may have several uploaders).
asset_uploaders = Table(
    "asset_uploaders",
    metadata,
    Column("sha256", Text, nullable=False),
    Column("advertiser_id", Text, nullable=False),
    PrimaryKeyConstraint("sha256", "advertiser_id"),
)

# ---- pacing and request counts (migration 0003) ----

# Billed impressions, clicks and conversions per line item, trigger and store per hour, written in
# the ledger's transaction (so exactly once): what learned click rates per trigger come from.
trigger_rollups_hourly = Table(
    "trigger_rollups_hourly",
    metadata,
    _text("line_item_id"),
    _int("trigger"),
    _text("store_id"),
    _big("hour_start_us"),
    _big("impressions", default=0),
    _big("clicks", default=0),
    _big("conversions", default=0),
    PrimaryKeyConstraint("line_item_id", "trigger", "store_id", "hour_start_us"),
)
Index("trigger_rollups_by_hour", trigger_rollups_hourly.c.hour_start_us)

# Each request-count record an edge uploaded (its event_id), so a re-sent record adds nothing.
request_count_records = Table(
    "request_count_records",
    metadata,
    _text("store_id"),
    _text("record_id"),
    _text("edge_id"),
    _big("create_time_us"),
    PrimaryKeyConstraint("store_id", "record_id"),
)

# GetAds requests per store, UTC hour, trigger and outcome (no_fill_reason 0: filled), and the ads
# they got: each store's hourly traffic profile for pacing, and fill rates.
request_counts_hourly = Table(
    "request_counts_hourly",
    metadata,
    _text("store_id"),
    _big("hour_start_us"),
    _int("trigger"),
    _int("no_fill_reason"),
    _big("requests", default=0),
    _big("ads", default=0),
    PrimaryKeyConstraint("store_id", "hour_start_us", "trigger", "no_fill_reason"),
)
Index("request_counts_by_hour", request_counts_hourly.c.hour_start_us)

# Per line item and store per hour: ads served, and eligible requests pacing held it back from.
line_item_requests_hourly = Table(
    "line_item_requests_hourly",
    metadata,
    _text("store_id"),
    _text("line_item_id"),
    _big("hour_start_us"),
    _big("ads", default=0),
    _big("throttled", default=0),
    PrimaryKeyConstraint("store_id", "line_item_id", "hour_start_us"),
)

# The budget pacing controller's state per store and pacing key (cloud_core/delivery/pacing.py): kept across
# recompiles, restarts and replicas.
pacing_state = Table(
    "pacing_state",
    metadata,
    _text("store_id"),
    _text("pacing_key"),
    Column("rate", Float, nullable=False),
    _big("updated_us"),
    _big("spent_micros", default=0),
    _big("day_start_us", default=0),
    PrimaryKeyConstraint("store_id", "pacing_key"),
)

# ---- experiments and reports (migration 0004) ----

# Layers of overlapping experiments; their arms (ExperimentArm messages) as a JSON list, like a
# line item's targeting.
experiment_layers = Table(
    "experiment_layers",
    metadata,
    Column("layer_id", Text, primary_key=True),
    _text("display_name"),
    _text("salt"),
    _int("state"),
    _text("arms_json"),
    _big("create_time_us"),
)


# Billed events rolled up per hour, store, creative and arm, in the ledger's transaction, so that
# reports never read raw events. Every event adds to the layer_id = '' row (all traffic) and to one
# row per experiment layer its trip was in (layer_id, arm_id).
def _sales_columns() -> list[Column[int]]:
    return [
        _big(name, default=0)
        for name in (
            "ct_sales_units",
            "ct_sales_micros",
            "vt_sales_units",
            "vt_sales_micros",
            "halo_sales_units",
            "halo_sales_micros",
        )
    ]


def _report_rollup_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        _text("layer_id"),
        _big("hour_start_us"),
        _text("store_id"),
        _text("campaign_id"),
        _text("line_item_id"),
        _text("creative_id"),
        _text("arm_id"),
        _text("advertiser_id"),
        _big("impressions", default=0),
        _big("clicks", default=0),
        _big("conversions", default=0),
        _big("spend_micros", default=0),
        _big("sales_micros", default=0),
        # Delivery past the campaign's budget: what it would have cost, and its events (never charged).
        _big("over_delivery_micros", default=0),
        _big("over_delivered_events", default=0),
        # Ad plays (migration 0011): the ad was put on screen; never billed.
        _big("plays", default=0),
        # Sales at checkout (migration 0014): click-through, view-through and halo units and value.
        *_sales_columns(),
        PrimaryKeyConstraint(
            "layer_id", "hour_start_us", "store_id", "campaign_id", "line_item_id", "creative_id", "arm_id"
        ),
        # Clustered on the key on SQLite, so a report reads its time range sequentially.
        sqlite_with_rowid=False,
    )


report_rollups_hourly = _report_rollup_table("report_rollups_hourly")
Index(
    "report_rollups_by_advertiser",
    report_rollups_hourly.c.advertiser_id,
    report_rollups_hourly.c.layer_id,
    report_rollups_hourly.c.hour_start_us,
)

# The same sums per UTC day (hour_start_us is the day's first hour): reports over whole days that
# need no hours read 24 times fewer rows.
report_rollups_daily = _report_rollup_table("report_rollups_daily")
Index(
    "report_rollups_daily_by_advertiser",
    report_rollups_daily.c.advertiser_id,
    report_rollups_daily.c.layer_id,
    report_rollups_daily.c.hour_start_us,
)
Index(
    "report_rollups_daily_by_campaign",
    report_rollups_daily.c.campaign_id,
    report_rollups_daily.c.layer_id,
    report_rollups_daily.c.hour_start_us,
)

# Per UTC day without store and creative: what most reports (by campaign, line item, day, arm)
# need, in a few thousand rows a fortnight.
report_rollups_daily_campaign = Table(
    "report_rollups_daily_campaign",
    metadata,
    _text("layer_id"),
    _big("hour_start_us"),
    _text("campaign_id"),
    _text("line_item_id"),
    _text("arm_id"),
    _text("advertiser_id"),
    _big("impressions", default=0),
    _big("clicks", default=0),
    _big("conversions", default=0),
    _big("spend_micros", default=0),
    _big("sales_micros", default=0),
    _big("over_delivery_micros", default=0),
    _big("over_delivered_events", default=0),
    _big("plays", default=0),
    *_sales_columns(),
    PrimaryKeyConstraint("layer_id", "hour_start_us", "campaign_id", "line_item_id", "arm_id"),
    sqlite_with_rowid=False,
)
Index(
    "report_rollups_daily_campaign_by_advertiser",
    report_rollups_daily_campaign.c.advertiser_id,
    report_rollups_daily_campaign.c.layer_id,
    report_rollups_daily_campaign.c.hour_start_us,
)

# One row per shopping trip and layer: the trip's arm, the hour it was first seen, and the value of
# the advertised products it added so far. Only ingest reads it (to update the rollup below).
experiment_trips = Table(
    "experiment_trips",
    metadata,
    _text("store_id"),
    _text("session_id"),
    _text("layer_id"),
    _text("arm_id"),
    _big("hour_start_us"),
    _big("sales_micros", default=0),
    PrimaryKeyConstraint("store_id", "session_id", "layer_id"),
)

# Trips per hour, store and arm with the sums lift needs: converting trips, sales and the sum of
# squared per-trip sales (in cents², which fits 64 bits for any realistic traffic).
experiment_trip_rollups_hourly = Table(
    "experiment_trip_rollups_hourly",
    metadata,
    _text("layer_id"),
    _big("hour_start_us"),
    _text("store_id"),
    _text("arm_id"),
    _big("trips", default=0),
    _big("converting_trips", default=0),
    _big("sales_micros", default=0),
    _big("sales_sq_cents2", default=0),
    PrimaryKeyConstraint("layer_id", "hour_start_us", "store_id", "arm_id"),
    sqlite_with_rowid=False,
)

# ---- operator console (migration 0005) ----

# The console's spend chart sums one campaign's rollups by hour: one ordered range (revision 0005).
Index("hourly_rollups_by_campaign_hour", hourly_rollups.c.campaign_id, hourly_rollups.c.hour_start_us)

# ---- invalid traffic (migration 0008) ----

# Ingest re-judges an upload against its carts' recent events: one range per cart (revision 0008).
Index("events_by_cart_time", events.c.store_id, events.c.cart_id, events.c.receive_time_us)

# Invalid events per campaign, line item, store, hour and rule (campaign "" for events of no ad),
# written in the ledger's transaction like every rollup; reports read them beside the delivery rollups.
invalid_rollups_hourly = Table(
    "invalid_rollups_hourly",
    metadata,
    _text("campaign_id"),
    _text("line_item_id"),
    _text("store_id"),
    _big("hour_start_us"),
    _int("rule"),
    _text("advertiser_id", default=""),
    _big("impressions", default=0),
    _big("clicks", default=0),
    _big("conversions", default=0),
    _big("events", default=0),
    PrimaryKeyConstraint("campaign_id", "line_item_id", "store_id", "hour_start_us", "rule"),
)
Index("invalid_rollups_by_hour", invalid_rollups_hourly.c.hour_start_us)

# Events an edge called valid and the cloud invalid traffic, per edge (EdgeStatus.ivt_disagreements).
edge_ivt_disagreements = Table(
    "edge_ivt_disagreements",
    metadata,
    _text("store_id"),
    _text("edge_id"),
    _big("events", default=0),
    PrimaryKeyConstraint("store_id", "edge_id"),
)

# ---- report exports (migration 12) ----

# A long report run as a background job; any replica reads its state (cloud_core/admin/exports).
report_exports = Table(
    "report_exports",
    metadata,
    Column("export_id", Text, primary_key=True),
    _text("advertiser_id", default=""),
    Column("request", LargeBinary, nullable=False),
    _int("state"),
    _int("stores_done", default=0),
    _int("stores_total", default=0),
    _big("row_count", default=0),
    _big("byte_count", default=0),
    _text("error", default=""),
    _text("runner", default=""),
    _big("create_time_us"),
    _big("update_time_us"),
)

# The finished export's CSV, in order, in chunks the download streams one message each.
report_export_chunks = Table(
    "report_export_chunks",
    metadata,
    _text("export_id"),
    _int("seq"),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("export_id", "seq"),
)

# ---- the audit trail (migration 10) ----

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", _ROW_ID, primary_key=True, autoincrement=True),
    _big("time_us"),
    _text("actor_token_id"),
    _text("actor_display_name"),
    _text("actor_role"),
    _text("method"),
    _text("resource_type"),
    _text("resource_id"),
    # [[field, before, after], ...], each value JSON text or "".
    _text("changes_json"),
    sqlite_autoincrement=True,
)
Index("audit_entries_by_resource", audit_entries.c.resource_type, audit_entries.c.resource_id, audit_entries.c.seq)
Index("audit_entries_by_actor", audit_entries.c.actor_token_id, audit_entries.c.seq)
Index("audit_entries_by_time", audit_entries.c.time_us)
