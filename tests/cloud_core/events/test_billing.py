"""Charges and token checks for uploaded events, with plain values."""

from __future__ import annotations

from cartads.v1 import admin_pb2, common_pb2, event_ingest_pb2
from cloud_core.events.billing import assess_event, billing_key, charge_micros
from cloud_core.events.charges import FLAGGING_REASONS
from tests.cloud_core.helpers import ad_event, legacy_judging

KEY = b"s" * 32
TTL_S = 7200


def test_cpm_impression_charges_a_thousandth_of_the_price() -> None:
    """A CPM impression costs round(price / 1000)."""
    assert charge_micros(common_pb2.PRICING_MODEL_CPM, common_pb2.EVENT_TYPE_IMPRESSION, 5_000_499) == 5_000


def test_cpc_click_charges_the_price() -> None:
    """A CPC click costs the price."""
    assert charge_micros(common_pb2.PRICING_MODEL_CPC, common_pb2.EVENT_TYPE_CLICK, 250_000) == 250_000


def test_other_pairings_are_free() -> None:
    """A click on CPM and an impression on CPC cost nothing."""
    assert charge_micros(common_pb2.PRICING_MODEL_CPM, common_pb2.EVENT_TYPE_CLICK, 5_000_000) == 0
    assert charge_micros(common_pb2.PRICING_MODEL_CPC, common_pb2.EVENT_TYPE_IMPRESSION, 250_000) == 0


def test_valid_impression_is_billable() -> None:
    """A correctly signed impression is billable with its charge and ids."""
    outcome = assess_event(ad_event(KEY, event_id="e1", seq=1), *legacy_judging(KEY), TTL_S)
    assert outcome.billable
    assert not outcome.reject_reason
    assert (outcome.charge_micros, outcome.campaign_id, outcome.line_item_id, outcome.ad_id) == (
        5_000,
        "c1",
        "li1",
        "ad-1",
    )


def test_forged_token_is_rejected() -> None:
    """A token signed with another key goes to the dead letters."""
    outcome = assess_event(ad_event(b"x" * 32, event_id="e1", seq=1), *legacy_judging(KEY), TTL_S)
    assert not outcome.billable
    assert outcome.reject_reason.startswith("TOKEN_SIGNATURE")


def test_token_of_another_store_is_rejected() -> None:
    """A token issued for another store is refused even when the signature matches."""
    outcome = assess_event(ad_event(KEY, event_id="e1", seq=1, store_id="s2"), *legacy_judging(KEY), TTL_S)
    assert outcome.reject_reason == "FOREIGN_STORE: the token was issued for store 's2'"


def test_token_of_another_cart_is_rejected() -> None:
    """An event whose cart differs from the token's is refused as a token mismatch, a code that flags no edge."""
    event = ad_event(KEY, event_id="e1", seq=1)
    event.event.cart_id = "cart-2"
    outcome = assess_event(event, *legacy_judging(KEY), TTL_S)
    assert outcome.reject_reason == "token was issued to another cart"
    assert outcome.reject_code == admin_pb2.DEAD_LETTER_REASON_TOKEN_MISMATCH
    assert outcome.reject_code not in FLAGGING_REASONS


def test_expired_token_is_rejected() -> None:
    """An event received after the token's lifetime is refused."""
    event = ad_event(KEY, event_id="e1", seq=1)
    event.receive_time.seconds += TTL_S + 60
    assert assess_event(event, *legacy_judging(KEY), TTL_S).reject_reason == "token expired"


def test_ad_event_without_token_is_rejected() -> None:
    """An impression without a token cannot be billed."""
    event = ad_event(KEY, event_id="e1", seq=1)
    event.event.tracking_token = ""
    assert assess_event(event, *legacy_judging(KEY), TTL_S).reject_reason == "missing tracking_token"


def test_basket_event_is_recorded_not_billed() -> None:
    """A basket add is recorded without a charge."""
    event = event_ingest_pb2.JournaledEvent(
        seq=3, event=common_pb2.CartEvent(event_id="b1", type=common_pb2.EVENT_TYPE_BASKET_ADD, product_id="24852")
    )
    outcome = assess_event(event, *legacy_judging(KEY), TTL_S)
    assert not outcome.billable
    assert not outcome.reject_reason
    assert outcome.seq == 3


def test_event_without_id_is_rejected() -> None:
    """An event without an event_id cannot be deduplicated and is refused."""
    event = ad_event(KEY, event_id="", seq=1)
    assert assess_event(event, *legacy_judging(KEY), TTL_S).reject_reason == "missing event_id"


def test_cpa_conversion_charges_the_price() -> None:
    """A CPA conversion costs the price; a conversion of a CPM decision costs nothing."""
    assert charge_micros(common_pb2.PRICING_MODEL_CPA, common_pb2.EVENT_TYPE_CONVERSION, 900_000) == 900_000
    assert charge_micros(common_pb2.PRICING_MODEL_CPM, common_pb2.EVENT_TYPE_CONVERSION, 900_000) == 0


def test_conversion_billing_key_includes_the_product() -> None:
    """Conversions are billed once per decision and product; other kinds once per decision."""
    assert billing_key("ad-1", common_pb2.EVENT_TYPE_CONVERSION, "p1") != billing_key(
        "ad-1", common_pb2.EVENT_TYPE_CONVERSION, "p2"
    )
    assert billing_key("ad-1", common_pb2.EVENT_TYPE_IMPRESSION, "p1") == "ad-1"


def test_valid_conversion_is_billable_with_its_product() -> None:
    """A correctly signed CPA conversion is billable, carrying the product added to the basket."""
    journaled = ad_event(
        KEY,
        event_id="cv",
        seq=1,
        event_type=common_pb2.EVENT_TYPE_CONVERSION,
        pricing_model=common_pb2.PRICING_MODEL_CPA,
        price_micros=400_000,
    )
    journaled.event.product_id = "p9"
    outcome = assess_event(journaled, *legacy_judging(KEY), TTL_S)
    assert (outcome.billable, outcome.charge_micros, outcome.product_id) == (True, 400_000, "p9")
