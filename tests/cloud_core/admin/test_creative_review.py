"""Creative review over a real cloud: pending until an admin approves, re-review after an edit, the
advertiser sees status and reason, and only approved creatives reach a store's index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2, index_sync_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.access.test_auth import admin_as, code_of
from tests.cloud_core.helpers import creative, line_item, seed, violations_of
from tests.cloud_core.sync.test_index_sync import next_update, subscribe

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

PENDING = admin_pb2.CREATIVE_REVIEW_STATUS_PENDING
APPROVED = admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED
REJECTED = admin_pb2.CREATIVE_REVIEW_STATUS_REJECTED


async def _new_creative(admin: AdminServiceAsyncStub, creative_id: str = "cr2") -> admin_pb2.CreativeSpec:
    """seed() (whose cr1 is approved) and a new creative ``creative_id`` of acme."""
    await seed(admin)
    return (await admin.CreateCreative(admin_pb2.CreateCreativeRequest(creative=creative(creative_id)))).creative


async def _status(admin: AdminServiceAsyncStub, creative_id: str = "cr2") -> admin_pb2.CreativeSpec:
    return (await admin.GetCreative(admin_pb2.GetCreativeRequest(creative_id=creative_id))).creative


async def test_a_new_creative_is_pending(admin: AdminServiceAsyncStub) -> None:
    """CreateCreative answers, and stores, a pending creative."""
    created = await _new_creative(admin)
    assert (created.review_status, (await _status(admin)).review_status) == (PENDING, PENDING)


async def test_a_creative_cannot_be_sent_in_approved(admin: AdminServiceAsyncStub) -> None:
    """The review fields are output only: a create that says APPROVED still makes a pending creative."""
    await _new_creative(admin)  # helpers.creative() sets review_status=APPROVED
    assert (await _status(admin)).review_status == PENDING


async def test_approve_records_status_time_and_reviewer(admin: AdminServiceAsyncStub) -> None:
    """ApproveCreative makes it APPROVED, with the review time and the approving token's id."""
    await _new_creative(admin)
    approved = (await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr2"))).creative
    assert approved.review_status == APPROVED
    assert approved.review_time.seconds > 0
    assert approved.reviewed_by.startswith("tok")
    assert (await _status(admin)).review_status == APPROVED


async def test_reject_needs_a_reason(admin: AdminServiceAsyncStub) -> None:
    """A rejection without a reason is INVALID_ARGUMENT naming reason."""
    await _new_creative(admin)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.RejectCreative(admin_pb2.RejectCreativeRequest(creative_id="cr2", reason="  "))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations_of(err.value)) == ["reason"]


async def test_review_of_an_unknown_creative_is_not_found(admin: AdminServiceAsyncStub) -> None:
    """Approving a creative that does not exist is NOT_FOUND; an empty id is INVALID_ARGUMENT."""
    await seed(admin)
    assert await code_of(admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="nope"))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await code_of(admin.ApproveCreative(admin_pb2.ApproveCreativeRequest())) == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_advertiser_sees_the_rejection_and_its_reason(
    admin: AdminServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """After a rejection, the advertiser's GetCreative and ListCreatives show REJECTED and the reason."""
    await _new_creative(admin)
    reason = "The headline promises a discount the product page does not give"
    await admin.RejectCreative(admin_pb2.RejectCreativeRequest(creative_id="cr2", reason=reason))
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        got = await _status(acme)
        listed = {c.creative_id: c for c in (await acme.ListCreatives(admin_pb2.ListCreativesRequest())).creatives}
    assert (got.review_status, got.review_reason) == (REJECTED, reason)
    assert (listed["cr2"].review_status, listed["cr2"].review_reason) == (REJECTED, reason)


async def test_an_advertiser_cannot_approve_its_own_creative(
    admin: AdminServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """ApproveCreative and RejectCreative with an advertiser token (even the owner's) are PERMISSION_DENIED."""
    await _new_creative(admin)
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        approve = await code_of(acme.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr2")))
        reject = await code_of(acme.RejectCreative(admin_pb2.RejectCreativeRequest(creative_id="cr1", reason="x")))
    assert (approve, reject) == (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.PERMISSION_DENIED)
    assert (await _status(admin)).review_status == PENDING


async def test_a_viewer_cannot_approve(admin: AdminServiceAsyncStub, cloud_server: CloudServer) -> None:
    """A viewer token may read reviews but not approve."""
    await _new_creative(admin)
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.VIEWER)) as viewer:
        code = await code_of(viewer.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr2")))
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_an_edit_of_what_is_shown_sends_it_back_to_review(admin: AdminServiceAsyncStub) -> None:
    """A new headline on an approved creative makes it pending again."""
    await seed(admin)
    edit = admin_pb2.CreativeSpec(creative_id="cr1", headline="Now half price")
    request = admin_pb2.UpdateCreativeRequest(creative=edit, update_mask=FieldMask(paths=["headline"]))
    assert (await admin.UpdateCreative(request)).creative.review_status == PENDING
    assert (await _status(admin, "cr1")).review_status == PENDING


async def test_a_rename_keeps_the_approval(admin: AdminServiceAsyncStub) -> None:
    """Renaming an approved creative changes nothing a shopper sees: it stays approved."""
    await seed(admin)
    edit = admin_pb2.CreativeSpec(creative_id="cr1", display_name="Renamed")
    await admin.UpdateCreative(
        admin_pb2.UpdateCreativeRequest(creative=edit, update_mask=FieldMask(paths=["display_name"]))
    )
    assert (await _status(admin, "cr1")).review_status == APPROVED


async def test_an_update_cannot_set_the_review(admin: AdminServiceAsyncStub) -> None:
    """An update mask naming review_status is INVALID_ARGUMENT on update_mask."""
    await _new_creative(admin)
    edit = admin_pb2.CreativeSpec(creative_id="cr2", review_status=APPROVED)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.UpdateCreative(
            admin_pb2.UpdateCreativeRequest(creative=edit, update_mask=FieldMask(paths=["review_status"]))
        )
    assert list(violations_of(err.value)) == ["update_mask"]


async def test_only_approval_puts_a_creative_in_the_index(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel
) -> None:
    """A line item of a pending creative is not in the store's index; approving it pushes it there."""
    await _new_creative(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item("li2", creative_ids=("cr2",))))
    call = await subscribe(edge_channel)
    first = await next_update(call)
    assert not first.index.line_items
    await call.write(index_sync_pb2.StreamIndexRequest(version=first.version, response_nonce=first.nonce))
    await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr2"))
    second = await next_update(call)
    assert [li.line_item_id for li in second.index.line_items] == ["li2"]
    call.cancel()
