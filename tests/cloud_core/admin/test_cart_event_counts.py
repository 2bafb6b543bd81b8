"""AdminService.CountCartEvents over a real cloud, and cartads-admin billing reconcile against it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.reported_file import CartReported, ReportedEvents
from cartads.time_units import now_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.app.server import CloudServer
from cloud_core.events.outcomes import EventOutcome
from tests.cloud_core.helpers import STORE_ID, run_admin_cli_as_admin, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

pytestmark = pytest.mark.usefixtures("quiet_server_logs")
_IMPRESSION, _CLICK = common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK
_ADD = common_pb2.EVENT_TYPE_BASKET_ADD


def _event(n: int, kind: int, *, cart: str = "cart-a", invalid: int = 0, billable: bool = True) -> EventOutcome:
    return EventOutcome(
        seq=n,
        event_id=f"e{n}",
        event_type=kind,
        cart_id=cart,
        session_id="t",
        event_blob=b"",
        receive_time_us=now_us(),
        ad_id=f"ad{n}" if billable else "",
        advertiser_id="acme" if billable else "",
        campaign_id="c1" if billable else "",
        line_item_id="li1" if billable else "",
        pricing_model=common_pb2.PRICING_MODEL_CPM,
        billable=billable,
        charge_micros=1000 if billable else 0,
        invalid_rule=invalid,
    )


async def _recorded(cloud_server: CloudServer) -> None:
    rule = common_pb2.INVALID_TRAFFIC_RULE_NON_PRODUCTION_CART
    events = [
        _event(1, _IMPRESSION),
        _event(2, _IMPRESSION, invalid=rule),
        _event(3, _CLICK),
        _event(4, _ADD, billable=False),
        _event(5, _IMPRESSION, cart="cart-b"),
    ]
    await cloud_server.store.ledger.record_events(STORE_ID, "edge", events)


async def test_counts_each_carts_events_by_outcome(cloud_server: CloudServer, admin: AdminServiceAsyncStub) -> None:
    """Per cart and type: received splits into billed, invalid and recorded; other carts stay out."""
    await seed(admin)
    await _recorded(cloud_server)
    response = await admin.CountCartEvents(admin_pb2.CountCartEventsRequest(store_id=STORE_ID, cart_ids=["cart-a"]))
    got = {(c.event_type, c.received, c.billed, c.invalid, c.recorded) for c in response.counts}
    assert got == {(_IMPRESSION, 2, 1, 1, 0), (_CLICK, 1, 1, 0, 0), (_ADD, 1, 0, 0, 1)}


async def test_events_past_the_budget_count_as_over_budget_not_billed(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub
) -> None:
    """With room in the budget for one charge, the second impression is over_budget (no charge), not billed."""
    await seed(admin, budget_micros=1000)
    await cloud_server.store.ledger.record_events(STORE_ID, "edge", [_event(1, _IMPRESSION), _event(2, _IMPRESSION)])
    response = await admin.CountCartEvents(admin_pb2.CountCartEventsRequest(store_id=STORE_ID, cart_ids=["cart-a"]))
    [row] = response.counts
    assert (row.received, row.billed, row.over_budget) == (2, 1, 1)


async def test_counts_only_events_received_since_the_start(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub
) -> None:
    """With a start time after the events were received, no row is counted."""
    await seed(admin)
    await _recorded(cloud_server)
    request = admin_pb2.CountCartEventsRequest(store_id=STORE_ID, cart_ids=["cart-a", "cart-b"])
    request.start_time.FromDatetime(datetime.now(UTC) + timedelta(minutes=1))
    assert list((await admin.CountCartEvents(request)).counts) == []


async def test_no_cart_is_invalid_and_an_unknown_store_not_found(admin: AdminServiceAsyncStub) -> None:
    """No cart ids is INVALID_ARGUMENT on cart_ids; an unknown store is NOT_FOUND."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.CountCartEvents(admin_pb2.CountCartEventsRequest(store_id="nowhere"))
    assert "cart_ids" in violations_of(caught.value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.CountCartEvents(admin_pb2.CountCartEventsRequest(store_id="nowhere", cart_ids=["c"]))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def _reported(tmp_path: Path, a: CartReported) -> Path:
    path = tmp_path / "reported.json"
    start = datetime.now(UTC) - timedelta(minutes=5)
    path.write_text(ReportedEvents(STORE_ID, start, {"cart-a": a, "cart-b": CartReported(1, 0, 1)}).to_json())
    return path


async def test_reconcile_passes_when_every_reported_event_is_in_the_cloud(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """billing reconcile exits 0 and says how many were billed and how many kept as invalid."""
    await seed(admin)
    await _recorded(cloud_server)
    path = _reported(tmp_path, CartReported(impressions=2, clicks=1, events=4))
    assert await run_admin_cli_as_admin(cloud_server, "billing", "reconcile", "--reported", str(path)) == 0
    assert "reconciled: every reported event is in the cloud; 3 impressions and clicks billed, 1 kept as invalid" in (
        capsys.readouterr().out
    )


async def test_reconcile_fails_naming_the_cart_whose_events_are_missing(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cart that reported more than the cloud holds makes billing reconcile exit 1, naming it."""
    await seed(admin)
    await _recorded(cloud_server)
    path = _reported(tmp_path, CartReported(impressions=3, clicks=1, events=5))
    argv = ("billing", "reconcile", "--reported", str(path), "--wait-s", "0")
    assert await run_admin_cli_as_admin(cloud_server, *argv) == 1
    assert (
        "NOT RECONCILED: reported events not in the cloud: impressions 1, all cart events 1; from cart-a (1)"
        in capsys.readouterr().out
    )
