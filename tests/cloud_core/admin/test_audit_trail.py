"""The audit trail over a real cloud: every AdminService change is recorded with who, what and the
fields before and after, secrets never; ListAuditEntries filters it and only operators may read it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.access.test_auth import admin_as, code_of
from tests.cloud_core.helpers import line_item, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


async def _entries(admin: AdminServiceAsyncStub, **filters: object) -> list[admin_pb2.AuditEntry]:
    request = admin_pb2.ListAuditEntriesRequest(**filters)  # type: ignore[arg-type]
    return list((await admin.ListAuditEntries(request)).audit_entries)


def _changes(entry: admin_pb2.AuditEntry) -> dict[str, tuple[str, str]]:
    return {c.field: (c.before, c.after) for c in entry.changes}


async def test_an_update_records_who_and_the_field_before_and_after(admin: AdminServiceAsyncStub) -> None:
    """UpdateLineItem is recorded with the admin token, the method, the line item and bid_micros old and new."""
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item(bid_micros=5_000_000)))
    edit = admin_pb2.LineItem(line_item_id="li1", bid_micros=7_000_000)
    await admin.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(line_item=edit, update_mask=FieldMask(paths=["bid_micros"]))
    )
    [entry] = await _entries(admin, resource_type="line_item", resource_id="li1", page_size=1)
    assert (entry.method, entry.actor_role, entry.actor_display_name) == (
        "UpdateLineItem",
        "admin",
        "admin (in-process)",
    )
    assert entry.actor_token_id.startswith("tok")
    assert _changes(entry) == {"bid_micros": ('"5000000"', '"7000000"')}


async def test_a_create_and_a_delete_record_all_fields_on_one_side(admin: AdminServiceAsyncStub) -> None:
    """A created advertiser has only after values; a deleted one only before values."""
    req = admin_pb2.CreateAdvertiserRequest(advertiser_id="gx", advertiser=admin_pb2.Advertiser(display_name="Globex"))
    await admin.CreateAdvertiser(req)
    await admin.DeleteAdvertiser(admin_pb2.DeleteAdvertiserRequest(advertiser_id="gx"))
    deleted, created = await _entries(admin, resource_type="advertiser", resource_id="gx")
    assert (created.method, _changes(created)["display_name"]) == ("CreateAdvertiser", ("", '"Globex"'))
    assert (deleted.method, _changes(deleted)["display_name"]) == ("DeleteAdvertiser", ('"Globex"', ""))


async def test_a_token_issued_and_revoked_is_recorded_without_its_secret(admin: AdminServiceAsyncStub) -> None:
    """CreateApiToken and RevokeApiToken are in the trail; the secret is nowhere in it."""
    token = admin_pb2.ApiToken(role=admin_pb2.API_TOKEN_ROLE_VIEWER, display_name="auditor")
    created = await admin.CreateApiToken(admin_pb2.CreateApiTokenRequest(token_id="tok-aud", api_token=token))
    await admin.RevokeApiToken(admin_pb2.RevokeApiTokenRequest(token_id="tok-aud"))
    revoked, issued = await _entries(admin, resource_type="api_token", resource_id="tok-aud")
    assert (issued.method, revoked.method) == ("CreateApiToken", "RevokeApiToken")
    assert list(_changes(revoked)) == ["revoke_time"]
    assert created.secret not in str(issued) + str(revoked)


async def test_a_refused_change_records_nothing(admin: AdminServiceAsyncStub) -> None:
    """A change that fails (NOT_FOUND) leaves no entry."""
    await code_of(admin.DeleteCampaign(admin_pb2.DeleteCampaignRequest(campaign_id="nope")))
    assert await _entries(admin, resource_id="nope") == []


async def test_the_trail_is_newest_first_and_pages(admin: AdminServiceAsyncStub) -> None:
    """Entries come newest first, a page at a time, and the pages add up to the whole trail."""
    for n in range(3):
        req = admin_pb2.CreateAdvertiserRequest(
            advertiser_id=f"a{n}", advertiser=admin_pb2.Advertiser(display_name="A")
        )
        await admin.CreateAdvertiser(req)
    first = await admin.ListAuditEntries(admin_pb2.ListAuditEntriesRequest(page_size=2))
    rest = await admin.ListAuditEntries(
        admin_pb2.ListAuditEntriesRequest(page_size=2, page_token=first.next_page_token)
    )
    ids = [e.resource_id for e in [*first.audit_entries, *rest.audit_entries]]
    assert (ids, rest.next_page_token) == (["a2", "a1", "a0"], "")


async def test_filters_by_actor_and_time(admin: AdminServiceAsyncStub, cloud_server: CloudServer) -> None:
    """--actor keeps one token's changes; --since leaves out what came before it."""
    await seed(admin)
    everything = await _entries(admin)
    mine = everything[0].actor_token_id
    assert {e.actor_token_id for e in await _entries(admin, actor_token_id=mine)} == {mine}
    assert await _entries(admin, actor_token_id="tok-someone-else") == []
    later = dt_to_ts(datetime.now(UTC) + timedelta(minutes=1))
    assert await _entries(admin, since_time=later) == []


async def test_an_unknown_resource_type_names_the_field(admin: AdminServiceAsyncStub) -> None:
    """resource_type "widget" is INVALID_ARGUMENT on resource_type."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _entries(admin, resource_type="widget")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations_of(err.value)) == ["resource_type"]


async def test_a_forged_page_token_is_invalid_argument(admin: AdminServiceAsyncStub) -> None:
    """A page token made by hand for the same query but not an entry id is INVALID_ARGUMENT, not a traceback."""
    from cloud_core.admin.pagination import encode_token

    forged = encode_token("DROP", "audit::::0")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _entries(admin, page_token=forged)
    assert list(violations_of(err.value)) == ["page_token"]


async def test_an_advertiser_may_not_read_the_trail(admin: AdminServiceAsyncStub, cloud_server: CloudServer) -> None:
    """An advertiser token gets PERMISSION_DENIED, even filtered to its own resources; a viewer may read."""
    await seed(admin)
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        code = await code_of(acme.ListAuditEntries(admin_pb2.ListAuditEntriesRequest(resource_id="acme")))
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.VIEWER)) as viewer:
        seen = await _entries(viewer)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert seen


async def test_an_advertisers_own_change_is_recorded_as_its_own(
    admin: AdminServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """A change made with an advertiser token names that token and the advertiser role."""
    await seed(admin)
    secret = await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme", display_name="acme's buyer")
    async with admin_as(cloud_server, secret) as acme:
        edit = admin_pb2.Campaign(campaign_id="c1", display_name="Renamed")
        await acme.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(campaign=edit, update_mask=FieldMask(paths=["display_name"]))
        )
    [entry] = await _entries(admin, resource_type="campaign", resource_id="c1", page_size=1)
    assert (entry.actor_role, entry.actor_display_name) == ("advertiser", "acme's buyer")
    assert json.loads(_changes(entry)["display_name"][1]) == "Renamed"


async def test_a_catalog_import_records_its_counts(admin: AdminServiceAsyncStub) -> None:
    """ImportCatalog is recorded against its store with the counts imported, not the products."""
    await seed(admin)
    [entry] = await _entries(admin, resource_type="catalog", page_size=1)
    assert entry.resource_id == "s1"
    assert _changes(entry)["product_count"] == ("", "3")
