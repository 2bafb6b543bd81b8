"""The edge's bounds on what a cart reports and asks: INVALID_ARGUMENT naming the field, nothing journaled."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.rpc.errors import InvalidArgumentError, field_violations
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest, ReportEventsRequest
from cartads.v1.common_pb2 import ATTRIBUTION_KIND_CLICK_THROUGH, BasketLine, CartEvent, EventType
from edge_node.config import EdgeConfig
from edge_node.serving.validation import parse_get_ads, parse_report
from tests.cart_credentials import credentialed_channel
from tests.edge_node.helpers import STORE_ID, FakeCloud, StartEdge, edge_config, make_index

CONFIG = EdgeConfig(store_id=STORE_ID, edge_id="e1", cloud_address="127.0.0.1:1", data_dir="/nonexistent")
NOW_S = 1_780_000_000


def basket_add(**fields: object) -> CartEvent:
    event = CartEvent(event_id="e1", type=EventType.EVENT_TYPE_BASKET_ADD, product_id="p1", quantity=1)
    for name, value in fields.items():
        if isinstance(value, Timestamp):
            getattr(event, name).CopyFrom(value)
        else:
            setattr(event, name, value)
    return event


def refusal(*events: CartEvent) -> list[tuple[str, str]]:
    """The violations ``parse_report`` raises for a call carrying ``events``."""
    with pytest.raises(InvalidArgumentError) as raised:
        parse_report(ReportEventsRequest(store_id=STORE_ID, cart_id="c1", events=events), CONFIG)
    return raised.value.violations


def test_a_basket_add_within_bounds_passes() -> None:
    """Quantity 1 to 999, a time in range: accepted."""
    event = basket_add(quantity=999, occur_time=Timestamp(seconds=NOW_S))
    assert [
        e.quantity for e in parse_report(ReportEventsRequest(store_id=STORE_ID, cart_id="c1", events=[event]), CONFIG)
    ] == [999]


def test_a_quantity_of_two_to_the_31_is_refused() -> None:
    """A basket add of quantity 2^31 - 1 is refused on events[0].quantity."""
    assert refusal(basket_add(quantity=2**31 - 1)) == [("events[0].quantity", "must be at most 999")]


def test_a_basket_change_without_a_quantity_is_refused() -> None:
    """A basket add must say how many (at least one)."""
    assert refusal(basket_add(quantity=0)) == [("events[0].quantity", "must be > 0")]


def test_a_quantity_on_an_impression_is_refused() -> None:
    """Only basket changes carry quantities."""
    event = CartEvent(event_id="i1", type=EventType.EVENT_TYPE_IMPRESSION, tracking_token="t", quantity=5)
    assert [field for field, _ in refusal(event)] == ["events[0].quantity"]


@pytest.mark.parametrize("duration_ms", [-1, 86_400_001])
def test_an_impossible_visible_duration_is_refused(duration_ms: int) -> None:
    """An impression visible for a negative time, or for more than a day, is refused."""
    event = CartEvent(
        event_id="i1", type=EventType.EVENT_TYPE_IMPRESSION, tracking_token="t", visible_duration_ms=duration_ms
    )
    assert [field for field, _ in refusal(event)] == ["events[0].visible_duration_ms"]


@pytest.mark.parametrize(("seconds", "nanos"), [(10**15, 0), (NOW_S, -1), (-(10**15), 0), (0, 0)])
def test_an_occur_time_out_of_range_is_refused(seconds: int, nanos: int) -> None:
    """Seconds of 10^15 or before 2020, or nanos of -1, are refused on events[0].occur_time."""
    assert [field for field, _ in refusal(basket_add(occur_time=Timestamp(seconds=seconds, nanos=nanos)))] == [
        "events[0].occur_time"
    ]


def test_edge_made_fields_are_refused_from_a_cart() -> None:
    """A cart may not claim an attribution: those fields are the edge's."""
    event = basket_add(attribution=ATTRIBUTION_KIND_CLICK_THROUGH, attributed_event_id="x")
    assert [field for field, _ in refusal(event)] == ["events[0].attribution", "events[0].attributed_event_id"]


def test_an_oversized_tracking_token_is_refused() -> None:
    """A token of more than 1,024 characters is refused."""
    event = CartEvent(event_id="c1", type=EventType.EVENT_TYPE_CLICK, tracking_token="t" * 1_025)
    assert refusal(event) == [("events[0].tracking_token", "is longer than 1024 characters")]


def test_a_nul_in_an_id_is_refused() -> None:
    """An id with a NUL (which PostgreSQL text cannot hold) is refused at the edge."""
    assert refusal(basket_add(session_id="s\x001")) == [("events[0].session_id", "must not contain NUL characters")]


def test_a_basket_line_quantity_of_two_to_the_31_is_refused() -> None:
    """GetAds refuses a basket line of quantity 2^31 - 1, naming the line."""
    request = GetAdsRequest(store_id=STORE_ID, cart_id="c1", basket=[BasketLine(product_id="p1", quantity=2**31 - 1)])
    with pytest.raises(InvalidArgumentError) as raised:
        parse_get_ads(request, CONFIG)
    assert raised.value.violations == [("basket[0].quantity", "must be at most 999")]


async def test_out_of_bounds_events_reach_no_journal(
    tmp_path: Path, fake_cloud: tuple[FakeCloud, int], edges: StartEdge
) -> None:
    """A real edge answers a hostile ReportEvents with INVALID_ARGUMENT and journals nothing: 0 billable."""
    edge = await edges(edge_config(tmp_path, fake_cloud[1]))
    fake_cloud[0].push(make_index())
    await edge.wait_for_index()
    hostile = [
        basket_add(event_id="q", quantity=2**31 - 1),
        basket_add(event_id="t", occur_time=Timestamp(seconds=10**15)),
        basket_add(event_id="n", occur_time=Timestamp(seconds=NOW_S, nanos=-1)),
    ]
    async with credentialed_channel(f"127.0.0.1:{edge.port}") as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        codes = []
        for event in hostile:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.ReportEvents(ReportEventsRequest(store_id=STORE_ID, cart_id="c1", events=[event]))
            codes.append((raised.value.code(), [f for f, _ in field_violations(raised.value)]))
    assert codes == [
        (grpc.StatusCode.INVALID_ARGUMENT, ["events[0].quantity"]),
        (grpc.StatusCode.INVALID_ARGUMENT, ["events[0].occur_time"]),
        (grpc.StatusCode.INVALID_ARGUMENT, ["events[0].occur_time"]),
    ]
    assert edge.journal_depth() == 0


def test_a_send_time_out_of_range_is_refused() -> None:
    """A cart clock claimed in the year 9999 (to skew the clock-offset rule) is refused on send_time."""
    request = ReportEventsRequest(store_id=STORE_ID, cart_id="c1", events=[basket_add()])
    request.send_time.CopyFrom(Timestamp(seconds=253_402_300_000))
    with pytest.raises(InvalidArgumentError) as raised:
        parse_report(request, CONFIG)
    assert [field for field, _ in raised.value.violations] == ["send_time"]
