"""Operator-side bounds: budgets, bids, caps, prices and times outside them are INVALID_ARGUMENT on the field."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1 import admin_pb2
from cloud_core.admin.validation import LineItemContext, validate_campaign, validate_catalog, validate_line_item
from cloud_core.compile.experiment_rules import validate_layer
from cloud_core.reports.query import check_report_request
from tests.cloud_core.helpers import campaign, line_item

CONTEXT = LineItemContext(campaign_advertiser_id="acme", creative_advertisers={"cr1": "acme"})


def campaign_fields(c: admin_pb2.Campaign) -> list[str]:
    return [field for field, _ in validate_campaign(c)]


def line_item_fields(item: admin_pb2.LineItem) -> list[str]:
    return [field for field, _ in validate_line_item(item, CONTEXT)]


def test_a_budget_over_ten_to_the_fifteen_is_refused() -> None:
    """A campaign budget above 10^15 micros ($1 billion) is refused."""
    assert campaign_fields(campaign(budget_micros=10**15 + 1)) == ["campaign.budget_micros"]


def test_a_budget_of_ten_to_the_fifteen_is_accepted() -> None:
    """The bound itself is a valid budget."""
    assert campaign_fields(campaign(budget_micros=10**15)) == []


def test_a_bid_over_ten_to_the_eleven_is_refused() -> None:
    """A bid above 10^11 micros ($100,000) is refused."""
    assert line_item_fields(line_item(bid_micros=10**11 + 1)) == ["line_item.bid_micros"]


@pytest.mark.parametrize("name", ["frequency_cap_per_session", "creative_frequency_cap_per_session"])
def test_a_frequency_cap_over_a_million_is_refused(name: str) -> None:
    """Frequency caps are 0 to 10^6."""
    item = line_item()
    setattr(item, name, 10**6 + 1)
    assert line_item_fields(item) == [f"line_item.{name}"]


def test_a_daily_budget_over_the_bound_is_refused() -> None:
    """A line item's daily budget is 0 to 10^15."""
    item = line_item()
    item.daily_budget_micros = 10**15 + 1
    assert line_item_fields(item) == ["line_item.daily_budget_micros"]


def test_a_product_price_over_a_thousand_dollars_is_refused() -> None:
    """A catalog price above 10^9 micros is refused."""
    product = admin_pb2.Product(
        product_id="p1", display_name="P", aisle_id="a", department_id="d", price_micros=10**9 + 1
    )
    violations = validate_catalog([], [], [product], {"a"}, {"d"})
    assert [field for field, _ in violations] == ["products[0].price_micros"]


@pytest.mark.parametrize(("seconds", "nanos"), [(10**15, 0), (1_780_000_000, -1), (946_684_799, 0)])
def test_flight_times_outside_2000_to_2100_are_refused(seconds: int, nanos: int) -> None:
    """Seconds of 10^15, nanos of -1 or a time before 2000 are refused on the flight's field."""
    c = campaign()
    c.start_time.CopyFrom(Timestamp(seconds=seconds, nanos=nanos))
    assert "campaign.start_time" in campaign_fields(c)


@pytest.mark.parametrize(("seconds", "nanos"), [(10**15, 0), (1_780_000_000, -1)])
def test_report_times_out_of_range_are_refused_before_use(seconds: int, nanos: int) -> None:
    """RunReport refuses a start_time of 10^15 seconds or -1 nanos (never converted or queried)."""
    request = admin_pb2.RunReportRequest(
        start_time=Timestamp(seconds=seconds, nanos=nanos), end_time=Timestamp(seconds=1_780_000_000)
    )
    assert [field for field, _ in check_report_request(request)] == ["start_time"]


def test_a_reserve_override_over_the_bid_bound_is_refused() -> None:
    """An experiment arm's reserve CPM is bounded like a bid."""
    arm = admin_pb2.ExperimentArm(arm_id="a", traffic_bps=5_000)
    arm.overrides.reserve_cpm_micros = 10**11 + 1
    layer = admin_pb2.ExperimentLayer(layer_id="l", display_name="L", arms=[arm])
    assert any(field.endswith("overrides.reserve_cpm_micros") for field, _ in validate_layer(layer, []))
