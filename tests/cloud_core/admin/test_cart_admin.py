"""AdminService's carts over gRPC: enrolment shows the credential once, revocation, checks and roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads import cart_credential
from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

TEST = common_pb2.CART_TRAFFIC_CLASS_TEST
PRODUCTION = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION


@pytest.fixture
async def carts(admin: AdminServiceAsyncStub) -> AdminServiceAsyncStub:
    """The admin stub, with store s1 created."""
    store = admin_pb2.Store(display_name="Test Market", time_zone="UTC")
    await admin.CreateStore(admin_pb2.CreateStoreRequest(store_id=STORE_ID, store=store))
    return admin


def create(cart_id: str = "cart-1", **fields: Any) -> admin_pb2.CreateCartRequest:
    return admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=STORE_ID, cart_id=cart_id, **fields))


async def refusal(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


async def test_enrolment_answers_a_credential_of_the_cart(carts: AdminServiceAsyncStub) -> None:
    """CreateCart answers the cart and its credential: of this store, with the cart's credential id."""
    response = await carts.CreateCart(create(display_name="Cart one"))
    parsed = cart_credential.parse(response.credential)
    assert parsed.store_id == STORE_ID
    assert parsed.credential_id == response.cart.credential_id
    assert (response.cart.cart_id, response.cart.display_name) == ("cart-1", "Cart one")
    assert response.cart.HasField("create_time")
    assert not response.cart.HasField("revoke_time")


async def test_an_unspecified_traffic_class_is_production(carts: AdminServiceAsyncStub) -> None:
    """A cart enrolled without a class is recorded as production, spelled out."""
    response = await carts.CreateCart(create())
    assert response.cart.traffic_class == PRODUCTION


async def test_the_credential_is_shown_once_and_never_again(carts: AdminServiceAsyncStub) -> None:
    """Get and List carry the credential id, never the credential or its secret."""
    response = await carts.CreateCart(create())
    secret_text = response.credential.rsplit(":", 1)[1].encode()
    secret = cart_credential.parse(response.credential).secret
    got = await carts.GetCart(admin_pb2.GetCartRequest(store_id=STORE_ID, cart_id="cart-1"))
    listed = await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, show_revoked=True))
    for answer in (got, listed):
        wire = answer.SerializeToString()
        assert secret_text not in wire
        assert secret not in wire
        assert response.cart.credential_id.encode() in wire


async def test_enrolling_an_enrolled_cart_is_already_exists(carts: AdminServiceAsyncStub) -> None:
    """A second CreateCart of an enrolled cart is ALREADY_EXISTS on cart.cart_id."""
    await carts.CreateCart(create())
    err = await refusal(carts.CreateCart(create()))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert set(violations_of(err)) == {"cart.cart_id"}


async def test_enrolling_a_revoked_cart_issues_a_new_credential(carts: AdminServiceAsyncStub) -> None:
    """After RevokeCart, CreateCart enrols the cart again with another credential id and secret."""
    first = await carts.CreateCart(create())
    await carts.RevokeCart(admin_pb2.RevokeCartRequest(store_id=STORE_ID, cart_id="cart-1"))
    second = await carts.CreateCart(create())
    assert second.cart.credential_id != first.cart.credential_id
    assert second.credential != first.credential
    assert not second.cart.HasField("revoke_time")


async def test_revocation_is_recorded_and_idempotent(carts: AdminServiceAsyncStub) -> None:
    """RevokeCart sets revoke_time once; listing hides the cart unless show_revoked is set."""
    await carts.CreateCart(create())
    request = admin_pb2.RevokeCartRequest(store_id=STORE_ID, cart_id="cart-1")
    first = (await carts.RevokeCart(request)).cart
    second = (await carts.RevokeCart(request)).cart
    assert first.HasField("revoke_time")
    assert second.revoke_time == first.revoke_time
    assert (await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID))).carts == []
    shown = await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, show_revoked=True))
    assert [c.cart_id for c in shown.carts] == ["cart-1"]


async def test_update_changes_the_masked_fields(carts: AdminServiceAsyncStub) -> None:
    """UpdateCart with a mask changes those fields only."""
    await carts.CreateCart(create(display_name="old"))
    patch = admin_pb2.Cart(store_id=STORE_ID, cart_id="cart-1", display_name="ignored", traffic_class=TEST)
    updated = await carts.UpdateCart(
        admin_pb2.UpdateCartRequest(cart=patch, update_mask=FieldMask(paths=["traffic_class"]))
    )
    assert (updated.cart.display_name, updated.cart.traffic_class) == ("old", TEST)


async def test_update_refuses_fields_it_does_not_set(carts: AdminServiceAsyncStub) -> None:
    """A mask naming credential_id (output only) is INVALID_ARGUMENT on update_mask."""
    await carts.CreateCart(create())
    patch = admin_pb2.Cart(store_id=STORE_ID, cart_id="cart-1", credential_id="mine")
    err = await refusal(
        carts.UpdateCart(admin_pb2.UpdateCartRequest(cart=patch, update_mask=FieldMask(paths=["credential_id"])))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations_of(err)) == {"update_mask"}


async def test_list_pages_through_every_cart(carts: AdminServiceAsyncStub) -> None:
    """ListCarts with page_size 2 pages through five carts in cart id order."""
    for n in range(5):
        await carts.CreateCart(create(f"cart-{n}"))
    seen: list[str] = []
    request = admin_pb2.ListCartsRequest(store_id=STORE_ID, page_size=2)
    while True:
        page = await carts.ListCarts(request)
        seen += [c.cart_id for c in page.carts]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert seen == [f"cart-{n}" for n in range(5)]


async def test_a_page_token_of_another_query_is_refused(carts: AdminServiceAsyncStub) -> None:
    """A token from the list without revoked carts does not page the list with them."""
    for n in range(3):
        await carts.CreateCart(create(f"cart-{n}"))
    page = await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, page_size=1))
    err = await refusal(
        carts.ListCarts(
            admin_pb2.ListCartsRequest(store_id=STORE_ID, page_token=page.next_page_token, show_revoked=True)
        )
    )
    assert set(violations_of(err)) == {"page_token"}


# ---- bad input: INVALID_ARGUMENT with the field, NOT_FOUND, and nothing enrolled ----

BAD_CARTS = [
    ({"cart_id": ""}, "cart.cart_id"),
    ({"cart_id": "has:colon"}, "cart.cart_id"),
    ({"cart_id": "x" * 65}, "cart.cart_id"),
    ({"cart_id": "x" * 100_000}, "cart.cart_id"),
    ({"cart_id": "c", "display_name": "n" * 201}, "cart.display_name"),
    ({"cart_id": "c", "traffic_class": 99}, "cart.traffic_class"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_CARTS, ids=[f for _, f in BAD_CARTS])
async def test_bad_cart_is_invalid_argument_on_its_field(
    carts: AdminServiceAsyncStub, fields: dict[str, Any], field: str
) -> None:
    """A malformed or oversized value is INVALID_ARGUMENT naming the field, and enrols nothing."""
    request = admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=STORE_ID, **fields))
    err = await refusal(carts.CreateCart(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations_of(err)
    listed = await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, show_revoked=True))
    assert listed.carts == []


async def test_an_oversized_store_id_is_invalid_argument(carts: AdminServiceAsyncStub) -> None:
    """A 100 KB store id is refused on cart.store_id before anything is looked up."""
    request = admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id="s" * 100_000, cart_id="c"))
    err = await refusal(carts.CreateCart(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations_of(err)) == {"cart.store_id"}


async def test_a_cart_of_a_missing_store_is_not_found(carts: AdminServiceAsyncStub) -> None:
    """Enrolling into a store that does not exist is NOT_FOUND on cart.store_id."""
    err = await refusal(carts.CreateCart(admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id="s9", cart_id="c"))))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert set(violations_of(err)) == {"cart.store_id"}


@pytest.mark.parametrize("method", ["GetCart", "RevokeCart"])
async def test_an_unknown_cart_is_not_found(carts: AdminServiceAsyncStub, method: str) -> None:
    """Getting or revoking a cart never enrolled is NOT_FOUND on cart_id."""
    request_type = getattr(admin_pb2, f"{method}Request")
    err = await refusal(getattr(carts, method)(request_type(store_id=STORE_ID, cart_id="ghost")))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert set(violations_of(err)) == {"cart_id"}


@pytest.mark.parametrize("method", ["GetCart", "RevokeCart"])
async def test_names_are_checked_before_lookup(carts: AdminServiceAsyncStub, method: str) -> None:
    """Malformed store and cart ids are INVALID_ARGUMENT on both fields."""
    request_type = getattr(admin_pb2, f"{method}Request")
    err = await refusal(getattr(carts, method)(request_type(store_id="", cart_id="a b")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations_of(err)) == {"store_id", "cart_id"}


async def test_listing_a_missing_store_is_not_found(carts: AdminServiceAsyncStub) -> None:
    """ListCarts of a store that does not exist is NOT_FOUND on store_id."""
    err = await refusal(carts.ListCarts(admin_pb2.ListCartsRequest(store_id="s9")))
    assert err.code() == grpc.StatusCode.NOT_FOUND


# ---- roles: admin writes, viewer reads, advertisers and edges nothing ----


@pytest.fixture
async def stub_as(cloud_server: CloudServer) -> AsyncIterator[Callable[[str], Awaitable[AdminServiceAsyncStub]]]:
    """Stubs of AdminService authenticated as a token of the given role."""
    channels: list[grpc.aio.Channel] = []

    async def make(role: str) -> AdminServiceAsyncStub:
        token = await cloud_server.mint_token(
            Role(role),
            advertiser_id="acme" if role == "advertiser" else "",
            store_id=STORE_ID if role == "edge" else "",
        )
        channel = aio_channel(f"127.0.0.1:{cloud_server.port}", token)
        channels.append(channel)
        return admin_pb2_grpc.AdminServiceStub(channel)

    yield make
    for channel in channels:
        await channel.close(None)


def cart_calls() -> dict[str, Callable[[AdminServiceAsyncStub], Awaitable[Any]]]:
    return {
        "CreateCart": lambda s: s.CreateCart(create("cart-rogue")),
        "GetCart": lambda s: s.GetCart(admin_pb2.GetCartRequest(store_id=STORE_ID, cart_id="cart-1")),
        "ListCarts": lambda s: s.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID)),
        "UpdateCart": lambda s: s.UpdateCart(
            admin_pb2.UpdateCartRequest(
                cart=admin_pb2.Cart(store_id=STORE_ID, cart_id="cart-1", traffic_class=PRODUCTION),
                update_mask=FieldMask(paths=["traffic_class"]),
            )
        ),
        "RevokeCart": lambda s: s.RevokeCart(admin_pb2.RevokeCartRequest(store_id=STORE_ID, cart_id="cart-1")),
    }


@pytest.mark.parametrize("role", ["advertiser", "edge"])
@pytest.mark.parametrize("method", sorted(cart_calls()))
async def test_advertiser_and_edge_tokens_may_not_touch_carts(
    carts: AdminServiceAsyncStub,
    stub_as: Callable[[str], Awaitable[AdminServiceAsyncStub]],
    role: str,
    method: str,
) -> None:
    """An advertiser or edge token is PERMISSION_DENIED on every cart method, and the cart stays as it was."""
    enrolled = (await carts.CreateCart(create("cart-1", traffic_class=TEST))).cart
    err = await refusal(cart_calls()[method](await stub_as(role)))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, show_revoked=True))
    assert list(listed.carts) == [enrolled]


@pytest.mark.parametrize("method", ["GetCart", "ListCarts"])
async def test_a_viewer_may_read_carts(
    carts: AdminServiceAsyncStub, stub_as: Callable[[str], Awaitable[AdminServiceAsyncStub]], method: str
) -> None:
    """A viewer token reads carts, without their credentials."""
    await carts.CreateCart(create("cart-1"))
    answer = await cart_calls()[method](await stub_as("viewer"))
    assert "cart-1" in str(answer)


@pytest.mark.parametrize("method", ["CreateCart", "UpdateCart", "RevokeCart"])
async def test_a_viewer_may_not_enrol_change_or_revoke(
    carts: AdminServiceAsyncStub, stub_as: Callable[[str], Awaitable[AdminServiceAsyncStub]], method: str
) -> None:
    """A viewer token is PERMISSION_DENIED on every cart write, and nothing changes."""
    enrolled = (await carts.CreateCart(create("cart-1", traffic_class=TEST))).cart
    err = await refusal(cart_calls()[method](await stub_as("viewer")))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, show_revoked=True))
    assert list(listed.carts) == [enrolled]


async def test_no_token_enrols_nothing(cloud_server: CloudServer, carts: AdminServiceAsyncStub) -> None:
    """A caller without a token is UNAUTHENTICATED and enrols no cart."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{cloud_server.port}")
    try:
        err = await refusal(admin_pb2_grpc.AdminServiceStub(channel).CreateCart(create("cart-rogue")))
    finally:
        await channel.close(None)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await carts.ListCarts(admin_pb2.ListCartsRequest(store_id=STORE_ID, show_revoked=True))).carts == []
