"""The cart store on SQLite and PostgreSQL: enrolment, revocation as history, and the change counter."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage import schema
from cloud_core.storage.cloud_store import SqlCloudStore

STORE = "s1"
T0 = 1_800_000_000_000_000
TEST = common_pb2.CART_TRAFFIC_CLASS_TEST
PRODUCTION = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlCloudStore]:
    opened = await SqlCloudStore.open(db_url)
    try:
        for store_id in (STORE, "s2"):
            await opened.catalog.create_store(admin_pb2.Store(store_id=store_id, display_name=store_id), b"k" * 32)
        yield opened
    finally:
        await opened.close()


def cart(cart_id: str = "cart-1", store_id: str = STORE, **fields: object) -> admin_pb2.Cart:
    message = admin_pb2.Cart(store_id=store_id, cart_id=cart_id, traffic_class=PRODUCTION)
    for name, value in fields.items():
        setattr(message, name, value)
    return message


def digest(credential_id: str) -> bytes:
    """A stand-in secret digest, distinct per credential."""
    return hashlib.sha256(credential_id.encode()).digest()


async def enrol(
    store: SqlCloudStore, cart_id: str, credential_id: str, *, store_id: str = STORE, at_us: int = T0, **fields: object
) -> None:
    await store.carts.create_cart(cart(cart_id, store_id, **fields), credential_id, digest(credential_id), at_us)


async def generation(store: SqlCloudStore, store_id: str = STORE) -> int:
    c = schema.index_changes.c
    query = sa.select(c.generation).where(c.store_id == store_id)
    return int(await store.db.read(lambda conn: conn.execute(query).scalar() or 0))


async def test_enrolled_cart_reads_back_with_its_credential(store: SqlCloudStore) -> None:
    """A new cart reads back with its name, class, credential id and enrolment time, not revoked."""
    created = await store.carts.create_cart(
        cart(display_name="Cart one", traffic_class=TEST), "cred-a", digest("cred-a"), T0
    )
    got = await store.carts.get_cart(STORE, "cart-1")
    assert got == created
    assert (got.display_name, got.traffic_class, got.credential_id) == ("Cart one", TEST, "cred-a")
    assert got.create_time.ToMicroseconds() == T0
    assert not got.HasField("revoke_time")


async def test_enrolling_an_enrolled_cart_is_already_exists(store: SqlCloudStore) -> None:
    """A second enrolment of a cart that is enrolled is ALREADY_EXISTS and issues no credential."""
    await enrol(store, "cart-1", "cred-a")
    with pytest.raises(AlreadyExistsError):
        await enrol(store, "cart-1", "cred-b")
    assert await store.carts.credentials(STORE, ["cred-b"]) == {}


async def test_enrolling_in_a_missing_store_is_not_found(store: SqlCloudStore) -> None:
    """A cart of a store that does not exist is NOT_FOUND on cart.store_id."""
    with pytest.raises(NotFoundError) as err:
        await store.carts.create_cart(cart(store_id="nowhere"), "cred-a", digest("cred-a"), T0)
    assert err.value.violations[0][0] == "cart.store_id"


async def test_revoked_cart_enrolled_again_gets_a_new_credential_and_keeps_the_old_revoked(
    store: SqlCloudStore,
) -> None:
    """Re-enrolling a revoked cart makes the new credential current; the old one stays, revoked."""
    await enrol(store, "cart-1", "cred-a")
    await store.carts.revoke_cart(STORE, "cart-1", T0 + 10)
    again = await store.carts.create_cart(cart(), "cred-b", digest("cred-b"), T0 + 20)
    assert again.credential_id == "cred-b"
    assert not again.HasField("revoke_time")
    records = await store.carts.credentials(STORE, ["cred-a", "cred-b"])
    assert records["cred-a"].revoke_time_us == T0 + 10
    assert records["cred-b"].revoke_time_us == 0
    assert [c.credential_id for c in (await store.carts.enrolled_carts([STORE]))[STORE]] == ["cred-b"]


async def test_revocation_is_idempotent_and_keeps_the_first_time(store: SqlCloudStore) -> None:
    """Revoking twice keeps the first revoke time, on the cart and on its credential."""
    await enrol(store, "cart-1", "cred-a")
    first = await store.carts.revoke_cart(STORE, "cart-1", T0 + 10)
    second = await store.carts.revoke_cart(STORE, "cart-1", T0 + 99)
    assert first is not None
    assert second is not None
    assert first.revoke_time.ToMicroseconds() == second.revoke_time.ToMicroseconds() == T0 + 10
    assert (await store.carts.credentials(STORE, ["cred-a"]))["cred-a"].revoke_time_us == T0 + 10


async def test_revoking_an_unknown_cart_finds_nothing(store: SqlCloudStore) -> None:
    """Revoking a cart that was never enrolled returns None and changes nothing."""
    before = await generation(store)
    assert await store.carts.revoke_cart(STORE, "ghost", T0) is None
    assert await generation(store) == before


async def test_update_changes_only_the_named_fields(store: SqlCloudStore) -> None:
    """An update of display_name leaves the traffic class as it was, and the reverse."""
    await enrol(store, "cart-1", "cred-a", display_name="old")
    await store.carts.update_cart(cart(display_name="new", traffic_class=TEST), ["display_name"])
    named = await store.carts.get_cart(STORE, "cart-1")
    assert named is not None
    assert (named.display_name, named.traffic_class) == ("new", PRODUCTION)
    await store.carts.update_cart(cart(display_name="ignored", traffic_class=TEST), ["traffic_class"])
    classed = await store.carts.get_cart(STORE, "cart-1")
    assert classed is not None
    assert (classed.display_name, classed.traffic_class) == ("new", TEST)


async def test_update_of_an_unknown_cart_finds_nothing(store: SqlCloudStore) -> None:
    """Updating a cart that does not exist returns None."""
    assert await store.carts.update_cart(cart("ghost"), ["display_name"]) is None


async def test_list_pages_in_cart_order_and_hides_revoked_unless_asked(store: SqlCloudStore) -> None:
    """Pages are in cart id order with one extra row; revoked carts are listed only with show_revoked."""
    for n in range(5):
        await enrol(store, f"cart-{n}", f"cred-{n}")
    await enrol(store, "cart-x", "cred-x", store_id="s2")
    await store.carts.revoke_cart(STORE, "cart-2", T0 + 1)
    first = await store.carts.list_carts(STORE, PageRequest("", 2), show_revoked=False)
    assert [c.cart_id for c in first] == ["cart-0", "cart-1", "cart-3"]
    rest = await store.carts.list_carts(STORE, PageRequest("cart-1", 10), show_revoked=False)
    assert [c.cart_id for c in rest] == ["cart-3", "cart-4"]
    every = await store.carts.list_carts(STORE, PageRequest("", 10), show_revoked=True)
    assert [c.cart_id for c in every] == ["cart-0", "cart-1", "cart-2", "cart-3", "cart-4"]


async def test_enrolled_carts_are_each_stores_unrevoked_ones_by_credential_id(store: SqlCloudStore) -> None:
    """The compiler's carts: per store, unrevoked, sorted by credential id, with digest and class."""
    await enrol(store, "cart-1", "cred-z")
    await enrol(store, "cart-2", "cred-a", traffic_class=TEST)
    await enrol(store, "cart-3", "cred-m")
    await enrol(store, "cart-9", "cred-s2", store_id="s2")
    await store.carts.revoke_cart(STORE, "cart-3", T0 + 1)
    found = await store.carts.enrolled_carts([STORE, "s2", "empty"])
    assert [(c.credential_id, c.cart_id, c.traffic_class) for c in found[STORE]] == [
        ("cred-a", "cart-2", TEST),
        ("cred-z", "cart-1", PRODUCTION),
    ]
    assert found[STORE][0].secret_sha256 == digest("cred-a")
    assert [c.cart_id for c in found["s2"]] == ["cart-9"]
    assert found["empty"] == ()


async def test_credentials_are_answered_only_for_their_own_store(store: SqlCloudStore) -> None:
    """A credential id of another store's cart is not found when asked for this store."""
    await enrol(store, "cart-9", "cred-s2", store_id="s2")
    await enrol(store, "cart-1", "cred-s1")
    assert set(await store.carts.credentials(STORE, ["cred-s1", "cred-s2", "nope"])) == {"cred-s1"}


async def test_credential_record_says_when_it_was_valid(store: SqlCloudStore) -> None:
    """A credential counts from its enrolment up to, not including, its revocation."""
    await enrol(store, "cart-1", "cred-a", at_us=T0)
    await store.carts.revoke_cart(STORE, "cart-1", T0 + 100)
    record = (await store.carts.credentials(STORE, ["cred-a"]))["cred-a"]
    assert [record.valid_at(t) for t in (T0 - 1, T0, T0 + 99, T0 + 100)] == [False, True, True, False]


async def test_every_cart_write_counts_a_change_of_its_store(store: SqlCloudStore) -> None:
    """Enrolment, update and revocation each count one index change of the cart's store, no other."""
    counts = [await generation(store)]
    await enrol(store, "cart-1", "cred-a")
    counts.append(await generation(store))
    await store.carts.update_cart(cart(traffic_class=TEST), ["traffic_class"])
    counts.append(await generation(store))
    await store.carts.revoke_cart(STORE, "cart-1", T0 + 1)
    counts.append(await generation(store))
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2, counts[0] + 3]
    assert await generation(store, "s2") == 0


async def test_a_refused_enrolment_counts_no_change(store: SqlCloudStore) -> None:
    """An enrolment refused as ALREADY_EXISTS rolls back its counter with it."""
    await enrol(store, "cart-1", "cred-a")
    before = await generation(store)
    with pytest.raises(AlreadyExistsError):
        await enrol(store, "cart-1", "cred-b")
    assert await generation(store) == before


async def test_deleting_a_store_deletes_its_carts_and_credentials(store: SqlCloudStore) -> None:
    """A deleted store's carts and their credentials go with it."""
    await enrol(store, "cart-9", "cred-s2", store_id="s2")
    await store.catalog.delete_store("s2")
    rows = await store.db.read(
        lambda conn: (
            conn.execute(sa.select(sa.func.count()).select_from(schema.carts)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(schema.cart_credentials)).scalar_one(),
        )
    )
    assert rows == (0, 0)
