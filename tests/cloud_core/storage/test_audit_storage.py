"""The audit trail and creative review in SQL, on both engines: entries kept newest first and filtered,
and the migration that approves the creatives already serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.audit import AuditFilter
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.sql.database import create_engine, database_url
from cloud_core.storage.sql.migrations import alembic_config, upgrade_to_head
from tests.conftest import ENGINES
from tests.storage_engines import fresh_pg_dsn


def _entry(resource_id: str, time_us: int, actor: str = "tok-a") -> admin_pb2.AuditEntry:
    return admin_pb2.AuditEntry(
        time=us_to_ts(time_us),
        actor_token_id=actor,
        actor_display_name="ops",
        actor_role="admin",
        method="UpdateCampaign",
        resource_type="campaign",
        resource_id=resource_id,
        changes=[admin_pb2.AuditFieldChange(field="budget_micros", before='"1"', after='"2"')],
    )


async def test_entries_come_back_newest_first_with_their_changes(store: SqlCloudStore) -> None:
    """What is recorded is listed back whole, the latest first, each with an id."""
    await store.audit.record_audit(_entry("c1", 1_000))
    await store.audit.record_audit(_entry("c2", 2_000))
    rows = await store.audit.list_audit(AuditFilter(), PageRequest("", 10))
    assert [r.resource_id for r in rows] == ["c2", "c1"]
    assert rows[0].changes[0] == admin_pb2.AuditFieldChange(field="budget_micros", before='"1"', after='"2"')
    assert rows[0].audit_entry_id
    assert rows[0].time == us_to_ts(2_000)


async def test_filters_match_all_together(store: SqlCloudStore) -> None:
    """Resource id, actor and since each narrow the list, and together must all match."""
    await store.audit.record_audit(_entry("c1", 1_000, actor="tok-a"))
    await store.audit.record_audit(_entry("c1", 3_000, actor="tok-b"))
    await store.audit.record_audit(_entry("c2", 3_000, actor="tok-b"))
    query = AuditFilter(resource_type="campaign", resource_id="c1", actor_token_id="tok-b", since_us=2_000)
    rows = await store.audit.list_audit(query, PageRequest("", 10))
    assert [(r.resource_id, r.actor_token_id) for r in rows] == [("c1", "tok-b")]


async def test_a_page_resumes_after_its_last_entry(store: SqlCloudStore) -> None:
    """A page holds limit + 1 rows; the next starts after the last id shown."""
    for n in range(3):
        await store.audit.record_audit(_entry(f"c{n}", n))
    first = await store.audit.list_audit(AuditFilter(), PageRequest("", 1))
    second = await store.audit.list_audit(AuditFilter(), PageRequest(first[0].audit_entry_id, 1))
    assert [r.resource_id for r in first] == ["c2", "c1"]
    assert [r.resource_id for r in second] == ["c1", "c0"]


@pytest.fixture(params=ENGINES)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each engine."""
    if request.param == "sqlite":
        yield str(tmp_path / "empty.sqlite3")
        return
    with fresh_pg_dsn(empty=True) as dsn:
        yield dsn


def test_creatives_serving_before_the_upgrade_stay_approved(empty_db_url: str) -> None:
    """Migration 0010 approves the creatives that exist (they were serving); new ones default to pending."""
    engine = create_engine(database_url(empty_db_url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0009_report_over_delivery")
            conn.execute(
                sa.text("INSERT INTO advertisers (advertiser_id, display_name, create_time_us) VALUES ('a', 'A', 0)")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO creatives (creative_id, advertiser_id, display_name, format, headline, body,"
                    " image_url, promoted_product_id, call_to_action, offer_text, coupon_code, create_time_us)"
                    " VALUES ('old', 'a', 'Old', 2, 'h', '', '', '', '', '', '', 0)"
                )
            )
    finally:
        engine.dispose()
    upgrade_to_head(empty_db_url)
    engine = create_engine(database_url(empty_db_url))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO creatives (creative_id, advertiser_id, display_name, format, headline, body,"
                    " image_url, promoted_product_id, call_to_action, offer_text, coupon_code, create_time_us)"
                    " VALUES ('new', 'a', 'New', 2, 'h', '', '', '', '', '', '', 0)"
                )
            )
            rows: dict[str, int] = dict(conn.execute(sa.text("SELECT creative_id, review_status FROM creatives")).all())
    finally:
        engine.dispose()
    assert rows == {"old": admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED, "new": admin_pb2.CREATIVE_REVIEW_STATUS_PENDING}


async def test_an_edit_without_review_keeps_the_stored_review(store: SqlCloudStore) -> None:
    """A content write that is not a re-review never overwrites a review made since it was read."""
    from tests.cloud_core.helpers import creative

    await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    read = creative()
    read.review_status = admin_pb2.CREATIVE_REVIEW_STATUS_PENDING
    await store.campaigns.create_creative(read)
    reviewed = await store.campaigns.review_creative(
        "cr1", admin_pb2.CREATIVE_REVIEW_STATUS_REJECTED, "blurry", 5_000_000, "tok-admin"
    )
    read.display_name = "Renamed"  # an edit made from the copy read before the rejection
    await store.campaigns.update_creative(read)
    stored = await store.campaigns.get_creative("cr1")
    assert stored is not None
    assert (stored.display_name, stored.review_status, stored.review_reason) == (
        "Renamed",
        reviewed.review_status,
        "blurry",
    )
    assert (reviewed.reviewed_by, reviewed.review_time.seconds) == ("tok-admin", 5)


async def test_a_token_and_its_audit_entry_commit_together(store: SqlCloudStore) -> None:
    """Issuing a token writes its entry in the same transaction: a refused duplicate leaves no entry."""
    from cartads.rpc.errors import AlreadyExistsError
    from cloud_core.access.api_tokens import TokenRecord
    from cloud_core.access.policy import Role

    who = admin_pb2.AuditEntry(actor_token_id="local", actor_role="local", method="CreateApiToken")
    await store.tokens.create_api_token(TokenRecord("t1", Role.VIEWER, create_time_us=7), "a" * 64, who)
    with pytest.raises(AlreadyExistsError):
        await store.tokens.create_api_token(TokenRecord("t1", Role.ADMIN, create_time_us=8), "b" * 64, who)
    await store.tokens.revoke_api_token("t1", 9, who)
    rows = await store.audit.list_audit(AuditFilter(resource_id="t1"), PageRequest("", 10))
    assert [(r.resource_type, [c.field for c in r.changes]) for r in rows] == [
        ("api_token", ["revoke_time"]),
        ("api_token", ["create_time", "role", "token_id"]),
    ]
