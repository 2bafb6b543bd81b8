"""An advertiser token cannot tell another advertiser's ids from ids that do not exist.

For every AdminService method (found by walking its descriptor, so methods added later are covered)
and every field of its request that names an advertiser, campaign, line item or creative, the call
is made twice with an advertiser token: once naming another advertiser's resource, once naming one
that does not exist. Every other id of the request names the token's own resources, so the call
gets as far as it can. Both answers must be byte-identical: status code, message and details (or,
for an answer that succeeds, the response).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import campaign, creative, line_item, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

# Per id name: the token's own resource, and the other advertiser's.
OWN_AND_OTHERS = {
    "advertiser_id": ("acme", "globex"),
    "campaign_id": ("c1", "gx-c"),
    "line_item_id": ("li1", "gx-li"),
    "creative_id": ("cr1", "gx-cr"),
}
MISSING = "no-such-id-42"
# The resource each Create method makes: its own id is the server's to choose, so it stays empty.
CREATED_ID = {"CreateCampaign": "campaign_id", "CreateLineItem": "line_item_id", "CreateCreative": "creative_id"}


@dataclass(frozen=True)
class IdField:
    """A request field naming a resource: ``path`` of message fields, then ``name`` (repeated or not)."""

    path: tuple[str, ...]
    name: str
    repeated: bool

    @property
    def kind(self) -> str:
        return self.name[:-1] if self.repeated else self.name

    def label(self) -> str:
        return ".".join((*self.path, self.name))


def id_fields(message: type[Message]) -> Iterator[IdField]:
    """The fields of ``message`` (and of the messages it holds directly) that name an owned resource."""
    for field in message.DESCRIPTOR.fields:
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_STRING:
            kind = field.name[:-1] if repeated else field.name
            if kind in OWN_AND_OTHERS:
                yield IdField((), field.name, repeated)
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not repeated:
            for inner in id_fields(type(getattr(message(), field.name))):
                if not inner.path:
                    yield IdField((field.name,), inner.name, inner.repeated)


def _set(request: Message, field: IdField, value: str) -> None:
    target = request
    for part in field.path:
        target = getattr(target, part)
    if field.repeated:
        getattr(target, field.name)[:] = [value]
    else:
        setattr(target, field.name, value)


def _valid_bodies() -> dict[str, tuple[str, Message]]:
    # A Create call that would succeed but for the id under test: otherwise validation would answer
    # first, and an "already exists" further on would never be reached.
    return {
        "CreateCampaign": ("campaign", campaign("")),
        "CreateLineItem": ("line_item", line_item("")),
        "CreateCreative": ("creative", creative("")),
    }


def request_naming(method: MethodDescriptor, varied: IdField, value: str) -> Message:
    """A request of ``method`` whose ``varied`` field is ``value`` and every other id the token's own."""
    request = GetMessageClass(method.input_type)()
    body = _valid_bodies().get(method.name)
    if body is not None:
        getattr(request, body[0]).CopyFrom(body[1])
    created = CREATED_ID.get(method.name)
    for field in id_fields(type(request)):
        if field == varied or field.kind == created:
            continue
        _set(request, field, OWN_AND_OTHERS[field.kind][0])
    _set(request, varied, value)
    return request


def cases() -> list[tuple[MethodDescriptor, IdField]]:
    out: list[tuple[MethodDescriptor, IdField]] = []
    for method in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods:
        if method.client_streaming or method.server_streaming:
            continue  # ImportCatalog and UploadAsset name a store and an image, never an owned resource
        out.extend((method, field) for field in id_fields(GetMessageClass(method.input_type)))
    return out


CASES = cases()


@pytest.fixture
async def acme(cloud_server: CloudServer, admin: AdminServiceAsyncStub) -> AsyncIterator[grpc.aio.Channel]:
    """Advertiser acme (campaign c1, line item li1, creative cr1) and globex (gx-c, gx-li, gx-cr), and a
    channel carrying acme's token."""
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    await admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(advertiser_id="globex", advertiser=admin_pb2.Advertiser(display_name="G"))
    )
    await admin.CreateCreative(admin_pb2.CreateCreativeRequest(creative=creative("gx-cr", advertiser_id="globex")))
    await admin.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign=campaign("gx-c", advertiser_id="globex")))
    await admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(line_item=line_item("gx-li", campaign_id="gx-c", creative_ids=("gx-cr",)))
    )
    async with aio_channel(
        f"127.0.0.1:{cloud_server.port}", await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")
    ) as ch:
        yield ch


async def answer(channel: grpc.aio.Channel, method: MethodDescriptor, request: Message) -> tuple[object, ...]:
    """Everything a caller learns from one call: code, message and details, or the response bytes."""
    call = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=None,
    )
    try:
        response = await call(request)
    except grpc.aio.AioRpcError as error:
        return (error.code(), error.details(), error.trailing_metadata())
    return (grpc.StatusCode.OK, response)


def test_the_walk_finds_the_methods_that_name_owned_resources() -> None:
    """The cases include Get, Update, Delete and custom methods of campaigns, line items and creatives."""
    names = {f"{m.name}:{f.label()}" for m, f in CASES}
    assert {
        "GetCampaign:campaign_id",
        "UpdateLineItem:line_item.creative_ids",
        "CreateLineItem:line_item.creative_ids",
        "CreateCampaign:campaign_id",
        "DeleteCreative:creative_id",
        "PauseLineItem:line_item_id",
        "ListLineItems:campaign_id",
        "RunReport:campaign_ids",
    } <= names


@pytest.mark.parametrize(("method", "field"), CASES, ids=[f"{m.name}:{f.label()}" for m, f in CASES])
async def test_another_advertisers_id_answers_as_a_missing_one(
    acme: grpc.aio.Channel, method: MethodDescriptor, field: IdField
) -> None:
    """Naming another advertiser's resource and naming none get byte-identical answers."""
    others = OWN_AND_OTHERS[field.kind][1]
    theirs = await answer(acme, method, request_naming(method, field, others))
    missing = await answer(acme, method, request_naming(method, field, MISSING))
    assert theirs == missing


async def test_an_advertiser_token_may_not_choose_an_id(acme: grpc.aio.Channel) -> None:
    """CreateCampaign with a client-chosen id from an advertiser token is INVALID_ARGUMENT on the id."""
    stub = admin_pb2_grpc.AdminServiceStub(acme)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign_id="mine", campaign=campaign("")))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations_of(raised.value) == {
        "campaign_id": "ids are made by the server for advertiser tokens; leave campaign_id empty"
    }


async def test_an_advertiser_tokens_resources_get_server_made_ids(acme: grpc.aio.Channel) -> None:
    """Without an id, an advertiser token's campaign is created under an id the server made."""
    created = await admin_pb2_grpc.AdminServiceStub(acme).CreateCampaign(
        admin_pb2.CreateCampaignRequest(campaign=campaign(""))
    )
    assert created.campaign.campaign_id.startswith("cmp-")
