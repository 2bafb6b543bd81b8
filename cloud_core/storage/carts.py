"""Carts enrolled to stores (table ``carts``) and every credential issued to them (``cart_credentials``).

A cart's row stays when it is revoked, and so do its credentials: enrolling it again issues a new
credential, and the cloud can still tell what any earlier one was and when it stopped counting.
Only the SHA-256 of a credential's secret is stored.

Every write counts an index change of the cart's store in the same transaction
(``db.count_index_changes``): the cart's enrolment or revocation cannot be committed without every
replica learning that the store's index changed, even if this process stops right after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.compile.carts import EnrolledCart
from cloud_core.storage import schema as t
from cloud_core.storage.protocol import CredentialRecord
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import chunks, count_index_changes, exists

_c = t.carts.c
_k = t.cart_credentials.c
_COLUMNS = (
    _c.store_id,
    _c.cart_id,
    _c.display_name,
    _c.traffic_class,
    _c.credential_id,
    _c.create_time_us,
    _c.revoke_time_us,
)


def _cart(row: Sequence[Any]) -> admin_pb2.Cart:
    store_id, cart_id, name, traffic_class, credential_id, created_us, revoked_us = row
    cart = admin_pb2.Cart(
        store_id=store_id,
        cart_id=cart_id,
        display_name=name,
        traffic_class=traffic_class,
        credential_id=credential_id,
        create_time=us_to_ts(int(created_us)),
    )
    if revoked_us:
        cart.revoke_time.CopyFrom(us_to_ts(int(revoked_us)))
    return cart


def _key(store_id: str, cart_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(_c.store_id == store_id, _c.cart_id == cart_id)


def _select(conn: Connection, store_id: str, cart_id: str) -> Sequence[Any] | None:
    return conn.execute(sa.select(*_COLUMNS).where(_key(store_id, cart_id))).first()


def _enrol(conn: Connection, cart: admin_pb2.Cart, credential_id: str, secret_sha256: bytes, now_us: int) -> None:
    store_id, cart_id = cart.store_id, cart.cart_id
    if not exists(conn, t.stores.c.store_id, store_id):
        raise NotFoundError(f"store {store_id!r} does not exist", "cart.store_id")
    values = {
        "display_name": cart.display_name,
        "traffic_class": int(cart.traffic_class),
        "credential_id": credential_id,
        "create_time_us": now_us,
        "revoke_time_us": 0,
    }
    if _select(conn, store_id, cart_id) is None:
        conn.execute(sa.insert(t.carts).values(store_id=store_id, cart_id=cart_id, **values))
    else:
        # Enrolled again only after a revocation (a new credential; the old ones stay revoked). The
        # condition is part of the UPDATE, so of two replicas racing, one re-enrols and one is refused.
        revoked = sa.and_(_key(store_id, cart_id), _c.revoke_time_us != 0)
        if conn.execute(sa.update(t.carts).where(revoked).values(**values)).rowcount == 0:
            raise AlreadyExistsError(f"cart {cart_id!r} of store {store_id!r} is already enrolled", "cart.cart_id")
    conn.execute(
        sa.insert(t.cart_credentials).values(
            credential_id=credential_id,
            store_id=store_id,
            cart_id=cart_id,
            secret_sha256=secret_sha256,
            create_time_us=now_us,
        )
    )
    count_index_changes(conn, [store_id])


class SqlCarts:
    """The CartStore Protocol (storage/protocol.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_cart(
        self, cart: admin_pb2.Cart, credential_id: str, secret_sha256: bytes, now_us: int
    ) -> admin_pb2.Cart:
        """Enrol ``cart`` (store_id, cart_id, display_name, traffic_class) with a new credential.

        ALREADY_EXISTS while the cart is enrolled; a revoked cart is enrolled again. NOT_FOUND when
        the store does not exist.
        """

        def _write(conn: Connection) -> admin_pb2.Cart:
            _enrol(conn, cart, credential_id, secret_sha256, now_us)
            row = _select(conn, cart.store_id, cart.cart_id)
            assert row is not None
            return _cart(row)

        try:
            return await self._db.write(_write)
        except IntegrityError as exc:
            # Another replica enrolled the same cart at the same moment, or deleted its store.
            raise AlreadyExistsError(
                f"cart {cart.cart_id!r} of store {cart.store_id!r} was enrolled or its store deleted meanwhile",
                "cart.cart_id",
            ) from exc

    async def get_cart(self, store_id: str, cart_id: str) -> admin_pb2.Cart | None:
        row = await self._db.read(lambda conn: _select(conn, store_id, cart_id))
        return None if row is None else _cart(row)

    async def list_carts(self, store_id: str, page: PageRequest, show_revoked: bool) -> list[admin_pb2.Cart]:
        """The store's carts in cart id order after ``page.after_id``: ``page.limit + 1`` at most."""
        query = sa.select(*_COLUMNS).where(_c.store_id == store_id, _c.cart_id > page.after_id)
        if not show_revoked:
            query = query.where(_c.revoke_time_us == 0)
        query = query.order_by(_c.cart_id).limit(page.limit + 1)
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return [_cart(r) for r in rows]

    async def update_cart(self, cart: admin_pb2.Cart, paths: Sequence[str]) -> admin_pb2.Cart | None:
        """Set the fields named by ``paths`` (display_name, traffic_class) from ``cart``; None when
        there is no such cart."""
        values: dict[str, object] = {}
        if "display_name" in paths:
            values["display_name"] = cart.display_name
        if "traffic_class" in paths:
            values["traffic_class"] = int(cart.traffic_class)

        def _write(conn: Connection) -> admin_pb2.Cart | None:
            if values:
                updated = conn.execute(sa.update(t.carts).where(_key(cart.store_id, cart.cart_id)).values(**values))
                if updated.rowcount:
                    count_index_changes(conn, [cart.store_id])
            row = _select(conn, cart.store_id, cart.cart_id)
            return None if row is None else _cart(row)

        return await self._db.write(_write)

    async def revoke_cart(self, store_id: str, cart_id: str, now_us: int) -> admin_pb2.Cart | None:
        """Revoke the cart and its credentials; idempotent (a second revocation keeps the first
        time). None when there is no such cart."""

        def _write(conn: Connection) -> admin_pb2.Cart | None:
            revoked = conn.execute(
                sa.update(t.carts).where(_key(store_id, cart_id), _c.revoke_time_us == 0).values(revoke_time_us=now_us)
            )
            if revoked.rowcount:
                conn.execute(
                    sa.update(t.cart_credentials)
                    .where(_k.store_id == store_id, _k.cart_id == cart_id, _k.revoke_time_us == 0)
                    .values(revoke_time_us=now_us)
                )
                count_index_changes(conn, [store_id])
            row = _select(conn, store_id, cart_id)
            return None if row is None else _cart(row)

        return await self._db.write(_write)

    async def enrolled_carts(self, store_ids: Sequence[str]) -> dict[str, tuple[EnrolledCart, ...]]:
        """Each of ``store_ids``' enrolled carts with their current credential, by credential id
        (a store without carts maps to an empty tuple)."""
        query_columns = (_k.store_id, _k.credential_id, _k.cart_id, _k.secret_sha256, _c.traffic_class)

        def _read(conn: Connection) -> dict[str, tuple[EnrolledCart, ...]]:
            found: dict[str, list[EnrolledCart]] = {store_id: [] for store_id in store_ids}
            for batch in chunks(store_ids):
                query = (
                    sa.select(*query_columns)
                    .join(t.carts, sa.and_(_c.store_id == _k.store_id, _c.credential_id == _k.credential_id))
                    .where(_k.store_id.in_(batch), _c.revoke_time_us == 0, _k.revoke_time_us == 0)
                    .order_by(_k.store_id, _k.credential_id)
                )
                for store_id, credential_id, cart_id, digest, traffic_class in conn.execute(query):
                    found[store_id].append(EnrolledCart(credential_id, cart_id, bytes(digest), traffic_class))
            return {store_id: tuple(carts) for store_id, carts in found.items()}

        return await self._db.read(_read)

    async def credentials(self, store_id: str, credential_ids: Sequence[str]) -> dict[str, CredentialRecord]:
        """The credentials among ``credential_ids`` issued to carts of ``store_id``, revoked ones included."""
        query_columns = (_k.credential_id, _k.cart_id, _k.create_time_us, _k.revoke_time_us, _c.traffic_class)

        def _read(conn: Connection) -> dict[str, CredentialRecord]:
            out: dict[str, CredentialRecord] = {}
            for batch in chunks(credential_ids):
                query = (
                    sa.select(*query_columns)
                    .join(t.carts, sa.and_(_c.store_id == _k.store_id, _c.cart_id == _k.cart_id))
                    .where(_k.store_id == store_id, _k.credential_id.in_(batch))
                )
                for credential_id, cart_id, created_us, revoked_us, traffic_class in conn.execute(query):
                    out[credential_id] = CredentialRecord(
                        credential_id=credential_id,
                        store_id=store_id,
                        cart_id=cart_id,
                        create_time_us=int(created_us),
                        revoke_time_us=int(revoked_us),
                        traffic_class=traffic_class,
                    )
            return out

        return await self._db.read(_read)
