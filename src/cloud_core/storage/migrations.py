"""The cloud schema as numbered migrations; each runs once, in order, recorded in schema_version."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE advertisers (
            advertiser_id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        CREATE TABLE campaigns (
            campaign_id TEXT PRIMARY KEY,
            advertiser_id TEXT NOT NULL REFERENCES advertisers(advertiser_id),
            display_name TEXT NOT NULL,
            start_time_us INTEGER NOT NULL,
            end_time_us INTEGER NOT NULL,
            budget_micros INTEGER NOT NULL CHECK (budget_micros > 0),
            state INTEGER NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        CREATE INDEX campaigns_by_advertiser ON campaigns(advertiser_id, campaign_id);
        CREATE TABLE creatives (
            creative_id TEXT PRIMARY KEY,
            advertiser_id TEXT NOT NULL REFERENCES advertisers(advertiser_id),
            display_name TEXT NOT NULL,
            format INTEGER NOT NULL,
            headline TEXT NOT NULL,
            body TEXT NOT NULL,
            image_url TEXT NOT NULL,
            promoted_product_id TEXT NOT NULL,
            call_to_action TEXT NOT NULL,
            offer_text TEXT NOT NULL,
            coupon_code TEXT NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        CREATE INDEX creatives_by_advertiser ON creatives(advertiser_id, creative_id);
        CREATE TABLE line_items (
            line_item_id TEXT PRIMARY KEY,
            campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
            display_name TEXT NOT NULL,
            pricing_model INTEGER NOT NULL,
            bid_micros INTEGER NOT NULL CHECK (bid_micros > 0),
            targeting_json TEXT NOT NULL,
            frequency_cap_per_session INTEGER NOT NULL,
            state INTEGER NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        CREATE INDEX line_items_by_campaign ON line_items(campaign_id, line_item_id);
        CREATE TABLE line_item_creatives (
            line_item_id TEXT NOT NULL REFERENCES line_items(line_item_id) ON DELETE CASCADE,
            creative_id TEXT NOT NULL REFERENCES creatives(creative_id),
            position INTEGER NOT NULL,
            PRIMARY KEY (line_item_id, creative_id)
        );
        CREATE INDEX line_item_creatives_by_creative ON line_item_creatives(creative_id);
        CREATE TABLE line_item_stores (
            line_item_id TEXT NOT NULL REFERENCES line_items(line_item_id) ON DELETE CASCADE,
            store_id TEXT NOT NULL,
            PRIMARY KEY (line_item_id, store_id)
        );
        CREATE INDEX line_item_stores_by_store ON line_item_stores(store_id);
        CREATE TABLE stores (
            store_id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            time_zone TEXT NOT NULL,
            signing_key BLOB NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        CREATE TABLE aisles (
            store_id TEXT NOT NULL REFERENCES stores(store_id) ON DELETE CASCADE,
            aisle_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            zone_id TEXT NOT NULL,
            PRIMARY KEY (store_id, aisle_id)
        );
        CREATE TABLE departments (
            store_id TEXT NOT NULL REFERENCES stores(store_id) ON DELETE CASCADE,
            department_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            PRIMARY KEY (store_id, department_id)
        );
        CREATE TABLE products (
            store_id TEXT NOT NULL REFERENCES stores(store_id) ON DELETE CASCADE,
            product_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            aisle_id TEXT NOT NULL,
            department_id TEXT NOT NULL,
            brand TEXT NOT NULL,
            price_micros INTEGER NOT NULL,
            PRIMARY KEY (store_id, product_id)
        );
        CREATE TABLE events (
            store_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_type INTEGER NOT NULL,
            cart_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            ad_id TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            line_item_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            charge_micros INTEGER NOT NULL,
            occur_time_us INTEGER NOT NULL,
            receive_time_us INTEGER NOT NULL,
            ingest_time_us INTEGER NOT NULL,
            UNIQUE (store_id, event_id)
        );
        -- A decision is billable once per kind: one impression, one click.
        CREATE TABLE billed_ads (
            ad_id TEXT NOT NULL,
            event_type INTEGER NOT NULL,
            store_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (ad_id, event_type)
        );
        CREATE TABLE ledger (
            entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            ad_id TEXT NOT NULL,
            event_type INTEGER NOT NULL,
            advertiser_id TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            line_item_id TEXT NOT NULL,
            pricing_model INTEGER NOT NULL,
            charge_micros INTEGER NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        -- Rollup kept in the ledger's transaction, so reports never scan raw events.
        CREATE TABLE spend (
            store_id TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            line_item_id TEXT NOT NULL,
            impressions INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0,
            spend_micros INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (store_id, campaign_id, line_item_id)
        );
        CREATE INDEX spend_by_campaign ON spend(campaign_id);
        CREATE TABLE dead_letters (
            dead_letter_id INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            event_blob BLOB NOT NULL,
            create_time_us INTEGER NOT NULL,
            UNIQUE (store_id, edge_id, seq, event_id)
        );
        CREATE TABLE edges (
            store_id TEXT NOT NULL,
            edge_id TEXT NOT NULL,
            applied_version TEXT NOT NULL,
            last_nonce TEXT NOT NULL,
            last_ack_time_us INTEGER NOT NULL DEFAULT 0,
            last_nack_time_us INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL,
            last_seen_us INTEGER NOT NULL,
            PRIMARY KEY (store_id, edge_id)
        );
        """,
    ),
    (
        2,
        # Edge sync status (issue 4): whether the stream is open, what the cloud last sent, what a NACK refused.
        """
        ALTER TABLE edges ADD COLUMN connected INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE edges ADD COLUMN current_version TEXT NOT NULL DEFAULT '';
        ALTER TABLE edges ADD COLUMN last_answer TEXT NOT NULL DEFAULT '';
        ALTER TABLE edges ADD COLUMN last_nack_version TEXT NOT NULL DEFAULT ''
        """,
    ),
    (
        3,
        # Billing (issue 5): conversions in the spend rollup, hourly rollups for reports, event
        # counts per store and hour (each store's share of traffic sizes its budget leases).
        """
        ALTER TABLE spend ADD COLUMN conversions INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE hourly_rollups (
            campaign_id TEXT NOT NULL,
            line_item_id TEXT NOT NULL,
            store_id TEXT NOT NULL,
            hour_start_us INTEGER NOT NULL,
            impressions INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0,
            conversions INTEGER NOT NULL DEFAULT 0,
            spend_micros INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (campaign_id, line_item_id, store_id, hour_start_us)
        );
        CREATE INDEX hourly_rollups_by_hour ON hourly_rollups(hour_start_us);
        CREATE TABLE store_traffic_hourly (
            store_id TEXT NOT NULL,
            hour_start_us INTEGER NOT NULL,
            events INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (store_id, hour_start_us)
        );
        CREATE INDEX dead_letters_by_store ON dead_letters(store_id, dead_letter_id)
        """,
    ),
    (
        4,
        # Serving rules (issue 3): priority tiers, creative and campaign frequency caps, competitive
        # exclusion labels. Dayparting lives in targeting_json with the rest of the targeting.
        """
        ALTER TABLE line_items ADD COLUMN priority_tier INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE line_items ADD COLUMN creative_frequency_cap_per_session INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE line_items ADD COLUMN exclusion_label TEXT NOT NULL DEFAULT '';
        ALTER TABLE campaigns ADD COLUMN frequency_cap_per_session INTEGER NOT NULL DEFAULT 0
        """,
    ),
    (
        5,
        # Creatives and assets (issue 9): uploaded images stored by content hash, a creative's image
        # and a recipe's products (a JSON list of product ids).
        """
        CREATE TABLE assets (
            sha256 TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            sanitized INTEGER NOT NULL DEFAULT 0,
            data BLOB NOT NULL,
            create_time_us INTEGER NOT NULL
        );
        ALTER TABLE creatives ADD COLUMN image_asset_sha256 TEXT NOT NULL DEFAULT '';
        ALTER TABLE creatives ADD COLUMN recipe_product_ids_json TEXT NOT NULL DEFAULT '[]'
        """,
    ),
)


def current_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied, 0 for an empty database."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_time_us INTEGER)")
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def apply_migrations(conn: sqlite3.Connection, now_us: int) -> int:
    """Apply every migration newer than the database, each in its own transaction; returns the version.

    The version is re-read under the write lock, so two processes opening one file at once apply
    each migration once. Scripts hold no ';' except between statements.
    """
    version = current_version(conn)
    for number, script in MIGRATIONS:
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) < number:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (number, now_us))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version
