"""Charges judged against the keys and terms the cloud recorded, with plain values."""

from __future__ import annotations

from cartads import tracking_token
from cartads.v1 import admin_pb2, common_pb2, index_pb2, tracking_pb2
from cloud_core.compile.terms import LineItemTerms, VersionTerms, decode_terms, encode_terms, index_terms
from cloud_core.events.charges import (
    ChargePolicy,
    ChargeRecords,
    SigningKeyRecord,
    terms_problem,
    verify_token,
)

R = admin_pb2.DeadLetterReason
KEY = b"e" * 32
KEY_ID = "00112233aabbccdd"
STORE = "s1"
NOW_US = 1_800_000_000_000_000
SENT_US = NOW_US - 3_600_000_000
VERSION = "v" * 64
TERMS = VersionTerms(
    VERSION,
    STORE,
    {
        "li1": LineItemTerms(
            "li1", "c1", "acme", frozenset({"cr1"}), common_pb2.PRICING_MODEL_CPC, 500_000, NOW_US - 86_400_000_000, 0
        )
    },
)


def records(**changes: object) -> ChargeRecords:
    key = SigningKeyRecord(KEY_ID, STORE, "edge-1", KEY, 1)
    fields: dict[str, object] = {"keys": {KEY_ID: key}, "sent_us": {VERSION: SENT_US}, "terms": {VERSION: TERMS}}
    fields.update(changes)
    return ChargeRecords(**fields)  # type: ignore[arg-type]


POLICY = ChargePolicy(STORE, b"legacy" * 6, legacy_until_us=NOW_US, now_us=NOW_US)


def payload(**changes: object) -> tracking_pb2.TrackingTokenPayload:
    p = tracking_pb2.TrackingTokenPayload(
        ad_id="ad-1",
        store_id=STORE,
        cart_id="cart-1",
        session_id="s",
        campaign_id="c1",
        advertiser_id="acme",
        line_item_id="li1",
        creative_id="cr1",
        pricing_model=common_pb2.PRICING_MODEL_CPC,
        price_micros=400_000,
        issue_time_unix_ms=(NOW_US - 60_000_000) // 1000,
        index_version=VERSION,
        signing_key_id=KEY_ID,
    )
    for name, value in changes.items():
        setattr(p, name, value)
    return p


def code_of(p: tracking_pb2.TrackingTokenPayload, key: bytes = KEY, recs: ChargeRecords | None = None) -> int:
    recs = recs or records()
    verdict = verify_token(tracking_token.sign(p, key), POLICY, recs)
    if verdict.payload is None:
        return verdict.code
    return terms_problem(verdict.payload, POLICY, recs)[0]


def test_a_charge_within_its_terms_stands() -> None:
    """A token of a registered key, for a line item, creative and price its sent version allowed, bills."""
    assert code_of(payload()) == R.DEAD_LETTER_REASON_UNSPECIFIED


def test_a_key_revoked_before_receipt_is_refused() -> None:
    """A key revoked at or before the cloud received the event no longer vouches for it."""
    revoked = records(keys={KEY_ID: SigningKeyRecord(KEY_ID, STORE, "edge-1", KEY, 1, revoke_time_us=NOW_US)})
    assert code_of(payload(), recs=revoked) == R.DEAD_LETTER_REASON_REVOKED_SIGNING_KEY


def test_a_key_revoked_later_still_vouches() -> None:
    """A revocation takes effect from its time on, not backwards."""
    later = records(keys={KEY_ID: SigningKeyRecord(KEY_ID, STORE, "edge-1", KEY, 1, revoke_time_us=NOW_US + 1)})
    assert code_of(payload(), recs=later) == R.DEAD_LETTER_REASON_UNSPECIFIED


def test_legacy_tokens_bill_until_the_cut_over_only() -> None:
    """A token of the store's shared key bills before the cut-over and is LEGACY_TOKEN from it on."""
    legacy = tracking_token.sign(payload(signing_key_id=""), POLICY.legacy_key)
    before = ChargePolicy(STORE, POLICY.legacy_key, legacy_until_us=NOW_US + 1, now_us=NOW_US)
    assert verify_token(legacy, before, records()).payload is not None
    assert verify_token(legacy, POLICY, records()).code == R.DEAD_LETTER_REASON_LEGACY_TOKEN


def test_another_pricing_model_is_above_terms() -> None:
    """A CPM price on a CPC line item is refused, however low."""
    assert code_of(payload(pricing_model=common_pb2.PRICING_MODEL_CPM, price_micros=1)) == (
        R.DEAD_LETTER_REASON_PRICE_ABOVE_TERMS
    )


def test_a_price_one_micro_above_the_bid_is_refused() -> None:
    """The bid is the most the auction can charge: one micro more is PRICE_ABOVE_TERMS."""
    assert code_of(payload(price_micros=500_000)) == R.DEAD_LETTER_REASON_UNSPECIFIED
    assert code_of(payload(price_micros=500_001)) == R.DEAD_LETTER_REASON_PRICE_ABOVE_TERMS


def test_a_token_issued_before_its_flight_or_version_is_refused() -> None:
    """Issue times before the version was sent (beyond clock slack) or far ahead are OUTSIDE_FLIGHT."""
    early = payload(issue_time_unix_ms=(SENT_US - 3_600_000_000) // 1000)
    ahead = payload(issue_time_unix_ms=(NOW_US + 3_600_000_000) // 1000)
    assert code_of(early) == code_of(ahead) == R.DEAD_LETTER_REASON_OUTSIDE_FLIGHT


def test_a_version_sent_to_another_store_is_not_sent_to_this_one() -> None:
    """Terms the cloud holds, of a version never sent to this store, do not vouch."""
    assert code_of(payload(), recs=records(sent_us={})) == R.DEAD_LETTER_REASON_VERSION_NOT_SENT


def test_terms_round_trip_and_house_ads_are_free() -> None:
    """Encoded terms decode to the same values; a house line item may charge nothing."""
    index = index_pb2.StoreIndex(
        store_id=STORE,
        version=VERSION,
        line_items=[
            index_pb2.IndexLineItem(
                line_item_id="a", campaign_id="c", advertiser_id="x", bid_micros=9, creative_ids=["k"]
            ),
            index_pb2.IndexLineItem(
                line_item_id="h", campaign_id="c", bid_micros=9, priority_tier=common_pb2.PRIORITY_TIER_HOUSE
            ),
        ],
        creatives=[common_pb2.Creative(creative_id="k", image_asset_sha256="f" * 64)],
    )
    terms = index_terms(index)
    assert decode_terms(encode_terms(terms), VERSION, STORE) == terms
    assert encode_terms(terms) == encode_terms(
        index_terms(
            index_pb2.StoreIndex(store_id="s9", version="w", line_items=index.line_items, creatives=index.creatives)
        )
    )
    assert (terms.line_items["a"].max_price_micros, terms.line_items["h"].max_price_micros) == (9, 0)
    assert terms.assets == {"f" * 64}
