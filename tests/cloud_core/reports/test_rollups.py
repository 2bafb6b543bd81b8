"""The report rollup rows an upload adds, computed from plain outcomes without a database."""

from __future__ import annotations

import dataclasses

from cartads.time_units import DAY_US, HOUR_US
from cartads.v1 import common_pb2
from cloud_core.events.outcomes import EventOutcome
from cloud_core.reports.metrics import trip_cents
from cloud_core.reports.rollups import (
    ALL_TRAFFIC,
    StoredTrip,
    campaign_rows,
    daily_rows,
    delivery_rollup_rows,
    new_trip_rows,
    trip_changes,
    trip_update,
)

D0 = 1_780_000_000 * 1_000_000 // DAY_US * DAY_US
BASKET_ADD = common_pb2.EVENT_TYPE_BASKET_ADD


def impression(
    event_id: str, *, arms: tuple[tuple[str, str], ...] = (), hour: int = 0, creative: str = "cr1"
) -> EventOutcome:
    return EventOutcome(
        seq=0,
        event_id=event_id,
        event_type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="cart",
        session_id="sess",
        event_blob=b"",
        receive_time_us=D0 + hour * HOUR_US,
        advertiser_id="acme",
        campaign_id="c1",
        line_item_id="li1",
        creative_id=creative,
        billable=True,
        charge_micros=100,
        experiment_arms=arms,
    )


def basket(event_id: str, session_id: str, arm: str, advertised_micros: int, hour: int = 0) -> EventOutcome:
    return EventOutcome(
        seq=0,
        event_id=event_id,
        event_type=BASKET_ADD,
        cart_id="cart",
        session_id=session_id,
        event_blob=b"",
        receive_time_us=D0 + hour * HOUR_US,
        experiment_arms=(("L", arm),),
        advertised_sales_micros=advertised_micros,
    )


def test_billed_event_rolls_up_for_all_traffic_and_each_layer() -> None:
    """A billed event adds to the all-traffic row and once more to its arm of every layer it was in."""
    rows = delivery_rollup_rows("s1", [impression("a", arms=(("L1", "x"), ("L2", "y")))], D0)
    assert sorted((r["layer_id"], r["arm_id"], r["impressions"], r["spend_micros"]) for r in rows) == [
        (ALL_TRAFFIC, "", 1, 100),
        ("L1", "x", 1, 100),
        ("L2", "y", 1, 100),
    ]


def test_daily_rows_sum_hours_and_campaign_rows_drop_store_and_creative() -> None:
    """Hourly rows fold into their UTC day; the campaign rollup further sums over creatives."""
    hourly = delivery_rollup_rows(
        "s1", [impression("a", hour=1), impression("b", hour=5), impression("c", hour=5, creative="cr2")], D0
    )
    daily = daily_rows(hourly)
    assert sorted((r["hour_start_us"], r["creative_id"], r["impressions"]) for r in daily) == [
        (D0, "cr1", 2),
        (D0, "cr2", 1),
    ]
    [campaign] = campaign_rows(daily)
    assert (campaign["hour_start_us"], campaign["impressions"], campaign["spend_micros"]) == (D0, 3, 300)
    assert "creative_id" not in campaign


def test_trip_changes_take_the_first_arm_and_sum_advertised_sales() -> None:
    """Per session and layer: the arm and hour of the first basket event, and its advertised sales summed."""
    changes = trip_changes([basket("a", "t1", "x", 200, hour=2), basket("b", "t1", "x", 300, hour=3)], D0)
    delta = changes.deltas["t1", "L"]
    assert (delta.arm_id, delta.hour_start_us, delta.added_sales_micros) == ("x", D0 + 2 * HOUR_US, 500)
    assert [r["session_id"] for r in new_trip_rows("s1", changes)] == ["t1"]


def test_new_trip_counts_once_with_its_sales() -> None:
    """A trip this upload created adds one trip to its arm, and its sales as converting."""
    changes = trip_changes([basket("a", "t1", "x", 500)], D0)
    update = trip_update("s1", changes, [("t1", "L")], {("t1", "L"): StoredTrip("x", D0, 0)})
    assert update.sales == [("t1", "L", 500)]
    [row] = update.rollup_rows
    assert (row["arm_id"], row["trips"], row["converting_trips"], row["sales_micros"]) == ("x", 1, 1, 500)
    assert row["sales_sq_cents2"] == trip_cents(500) ** 2


def test_known_trip_moves_its_sums_from_before_to_after() -> None:
    """A trip stored before keeps its arm and hour; its sums move by the change, not counted again."""
    changes = trip_changes([basket("a", "t1", "y", 300, hour=4)], D0)
    stored = {("t1", "L"): StoredTrip("x", D0, 200)}
    update = trip_update("s1", changes, [], stored)
    assert update.sales == [("t1", "L", 500)]
    [row] = update.rollup_rows
    assert (row["arm_id"], row["hour_start_us"], row["trips"], row["converting_trips"]) == ("x", D0, 0, 0)
    assert row["sales_micros"] == 300
    assert row["sales_sq_cents2"] == trip_cents(500) ** 2 - trip_cents(200) ** 2


def test_unchanged_known_trip_writes_nothing() -> None:
    """A basket event adding no sales to a trip already stored changes no sums and no sales."""
    changes = trip_changes([basket("a", "t1", "x", 0)], D0)
    update = trip_update("s1", changes, [], {("t1", "L"): StoredTrip("x", D0, 200)})
    assert update.sales == []
    assert update.rollup_rows == []


def test_a_play_rolls_up_as_a_play_with_no_spend() -> None:
    """A play adds one play to its row and nothing to impressions or spend."""
    play = dataclasses.replace(
        impression("p1"), event_type=common_pb2.EVENT_TYPE_AD_PLAY, billable=False, charge_micros=0
    )
    (row,) = delivery_rollup_rows("s1", [play], D0)
    assert (row["plays"], row["impressions"], row["spend_micros"]) == (1, 0, 0)
