"""An operator's text that PostgreSQL cannot store is INVALID_ARGUMENT naming the field, on any engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.v1 import admin_pb2
from tests.cloud_core.helpers import STORE_ID, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


async def test_a_nul_in_a_name_is_invalid_argument(admin: AdminServiceAsyncStub) -> None:
    """CreateAdvertiser with a NUL in its display name names the field, and creates nothing."""
    request = admin_pb2.CreateAdvertiserRequest(advertiser=admin_pb2.Advertiser(display_name="Ac\x00me"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.CreateAdvertiser(request)
    assert violations_of(raised.value) == {"advertiser.display_name": "must not contain NUL characters"}
    assert (await admin.ListAdvertisers(admin_pb2.ListAdvertisersRequest())).advertisers == []


async def test_a_nul_in_an_imported_product_is_invalid_argument(admin: AdminServiceAsyncStub) -> None:
    """A catalog import whose product name holds a NUL is refused naming the product's field."""
    await seed(admin)

    async def chunks() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
        product = admin_pb2.Product(product_id="p-nul", display_name="Ba\x00nanas", aisle_id="24", department_id="4")
        yield admin_pb2.ImportCatalogRequest(store_id=STORE_ID, products=[product])

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.ImportCatalog(chunks())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations_of(raised.value) == {"products[0].display_name": "must not contain NUL characters"}
