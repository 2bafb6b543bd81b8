"""What reports learn from an uploaded event: its arms, creative and value (cloud_core/events/billing.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from cartads import tracking_token
from cartads.time_units import dt_to_ts
from cartads.v1 import common_pb2, event_ingest_pb2, tracking_pb2
from cloud_core.events.billing import assess_event
from tests.cloud_core.helpers import legacy_judging

KEY = b"k" * 32


def _journaled(event: common_pb2.CartEvent) -> event_ingest_pb2.JournaledEvent:
    return event_ingest_pb2.JournaledEvent(seq=1, event=event, receive_time=dt_to_ts(datetime.now(UTC)))


def _token(arm_id: str) -> str:
    payload = tracking_pb2.TrackingTokenPayload(
        ad_id="ad-1",
        store_id="s1",
        cart_id="cart",
        session_id="trip",
        campaign_id="c1",
        line_item_id="li1",
        creative_id="cr1",
        pricing_model=common_pb2.PRICING_MODEL_CPA,
        price_micros=1_000_000,
        issue_time_unix_ms=int(datetime.now(UTC).timestamp() * 1000),
        experiment_arms=[common_pb2.ArmAssignment(layer_id="L", arm_id=arm_id)],
    )
    return tracking_token.sign(payload, KEY)


def _conversion() -> common_pb2.CartEvent:
    """A conversion of three at $2.50 whose token was signed in arm "signed" but whose event says "unsigned"."""
    return common_pb2.CartEvent(
        event_id="cv",
        type=common_pb2.EVENT_TYPE_CONVERSION,
        cart_id="cart",
        session_id="trip",
        ad_id="ad-1",
        product_id="p1",
        quantity=3,
        unit_price_micros=2_500_000,
        tracking_token=_token("signed"),
        experiment_arms=[common_pb2.ArmAssignment(layer_id="L", arm_id="unsigned")],
    )


def test_ad_event_takes_its_arms_from_the_signed_token() -> None:
    """A conversion's arms come from its verified token, not from the (edge-stamped) event."""
    outcome = assess_event(_journaled(_conversion()), *legacy_judging(KEY), 7200)
    assert outcome.billable
    assert outcome.experiment_arms == (("L", "signed"),)


def test_conversion_is_worth_its_shelf_price_times_quantity() -> None:
    """A billed conversion is worth the product's shelf price times the quantity added, for its creative."""
    outcome = assess_event(_journaled(_conversion()), *legacy_judging(KEY), 7200)
    assert outcome.billable
    assert (outcome.creative_id, outcome.sales_micros) == ("cr1", 7_500_000)


def test_basket_add_takes_the_edge_stamped_arms_and_advertised_value() -> None:
    """A basket add has no token: its arms are the edge's stamp; advertised adds carry their value."""
    event = common_pb2.CartEvent(
        event_id="b",
        type=common_pb2.EVENT_TYPE_BASKET_ADD,
        cart_id="cart",
        session_id="trip",
        product_id="p1",
        quantity=2,
        unit_price_micros=1_000_000,
        advertised_product=True,
        experiment_arms=[common_pb2.ArmAssignment(layer_id="L", arm_id="holdout")],
    )
    outcome = assess_event(_journaled(event), *legacy_judging(KEY), 7200)
    assert not outcome.billable
    assert outcome.experiment_arms == (("L", "holdout"),)
    assert (outcome.advertised_sales_micros, outcome.sales_micros) == (2_000_000, 0)


def test_unadvertised_basket_add_adds_no_sales() -> None:
    """Adds of products no line item promotes are not lift's outcome."""
    event = common_pb2.CartEvent(
        event_id="b", type=common_pb2.EVENT_TYPE_BASKET_ADD, product_id="p9", quantity=1, unit_price_micros=500
    )
    assert assess_event(_journaled(event), *legacy_judging(KEY), 7200).advertised_sales_micros == 0
