"""The method table's rules for carts, edge signing keys and edge flags: the operator's, never an advertiser's."""

from __future__ import annotations

import pytest

from cloud_core.access import policy as p

ADMIN = p.Principal("t-admin", p.Role.ADMIN)
VIEWER = p.Principal("t-viewer", p.Role.VIEWER)
ACME = p.Principal("t-acme", p.Role.ADVERTISER, advertiser_id="acme")
EDGE_S1 = p.Principal("t-edge", p.Role.EDGE, store_id="s1")

READS = ("GetCart", "ListCarts")
WRITES = ("CreateCart", "UpdateCart", "RevokeCart", "RevokeEdgeSigningKey", "ClearEdgeFlag")


@pytest.mark.parametrize("method", READS + WRITES)
def test_admin_may_call_every_cart_and_key_method(method: str) -> None:
    """An admin token may enrol, read, change and revoke carts, revoke keys and clear flags."""
    assert p.authorize_admin_call(ADMIN, method).allowed


@pytest.mark.parametrize("method", READS)
def test_viewer_may_read_carts(method: str) -> None:
    """A viewer token may read carts."""
    assert p.authorize_admin_call(VIEWER, method).allowed


@pytest.mark.parametrize("method", WRITES)
def test_viewer_may_not_change_carts_keys_or_flags(method: str) -> None:
    """A viewer token changes nothing: no enrolment, revocation or flag clearing."""
    assert p.authorize_admin_call(VIEWER, method).outcome is p.Outcome.PERMISSION_DENIED


@pytest.mark.parametrize("method", READS + WRITES)
@pytest.mark.parametrize("principal", [ACME, EDGE_S1], ids=["advertiser", "edge"])
def test_advertisers_and_edges_may_not_touch_carts_or_keys(principal: p.Principal, method: str) -> None:
    """Neither an advertiser token nor an edge token may even read which carts or keys exist."""
    assert p.authorize_admin_call(principal, method).outcome is p.Outcome.PERMISSION_DENIED


@pytest.mark.parametrize("method", READS + WRITES)
def test_cart_and_key_methods_are_listed_explicitly(method: str) -> None:
    """Each is in the table itself, not left to the name-based default."""
    assert method in p.METHOD_RULES
