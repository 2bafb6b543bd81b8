"""GetAds answers written from pre-serialized pieces equal the answers protobuf builds field by field."""

from __future__ import annotations

import base64
import hashlib
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartads import tracking_token
from cartads.v1.ad_service_pb2 import Ad, GetAdsRequest, GetAdsResponse
from cartads.v1.common_pb2 import ArmAssignment, RecipeItem
from cartads.v1.common_pb2 import Creative as PbCreative
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.index.view import Creative, LineItem
from edge_node.serving.response_wire import (
    ACCELERATED,
    WRITTEN_FIELDS,
    ResponseWriter,
    _write_ads,
    no_index_response,
)
from edge_node.serving.selection import SelectedAd

KEY = b"wire-test-key"
_text = st.text(max_size=150)
_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _creative_pb(creative_id: str, headline: str) -> PbCreative:
    return PbCreative(
        creative_id=creative_id,
        format=1,  # type: ignore[arg-type]
        headline=headline,
        price_micros=1_990_000,
        recipe_items=[RecipeItem(product_id="p-1", name="Flour", price_micros=-5)],
    )


def _reference_payload(
    request: GetAdsRequest, ad: SelectedAd, now_unix_ms: int, version: str, arms: tuple[ArmAssignment, ...]
) -> TrackingTokenPayload:
    li = ad.line_item
    return TrackingTokenPayload(
        ad_id=ad.ad_id,
        store_id=request.store_id,
        cart_id=request.cart_id,
        session_id=request.session_id,
        campaign_id=li.campaign_id,
        line_item_id=li.line_item_id,
        creative_id=ad.creative.creative_id,
        advertiser_id=li.advertiser_id,
        pricing_model=li.pricing_model,  # type: ignore[arg-type]
        price_micros=ad.price_micros,
        issue_time_unix_ms=now_unix_ms,
        index_version=version,
        experiment_arms=arms,
        trigger=request.trigger,
    )


_ads = st.builds(
    SelectedAd,
    slot_id=_text,
    line_item=st.builds(
        LineItem,
        line_item_id=_text,
        campaign_id=_text,
        advertiser_id=_text,
        pricing_model=st.integers(min_value=0, max_value=3),
    ),
    creative=st.builds(Creative, creative_id=st.sampled_from(["cr-1", "cr-2", ""])),
    price_micros=_int64,
    ecpm_micros=st.just(1.0),
    ad_id=st.one_of(st.just(""), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
)
# Validation requires store and cart ids, so a payload is never empty.
_requests = st.builds(
    GetAdsRequest,
    store_id=st.text(min_size=1, max_size=150),
    cart_id=st.text(min_size=1, max_size=150),
    session_id=_text,
    request_id=_text,
    trigger=st.integers(min_value=0, max_value=5),
)
_arms = st.lists(st.builds(ArmAssignment, layer_id=_text, arm_id=_text), max_size=3).map(tuple)
# Within one index version a line item id names one line item (the pieces are cached by id).
_ad_lists = st.lists(_ads, max_size=3, unique_by=lambda ad: ad.line_item.line_item_id)
_no_fills = st.integers(min_value=0, max_value=200)


# Both writers: the Python one, and the C accelerator where it was built (edge_node/serving/_response_wire.c).
_NOT_BUILT = pytest.mark.skipif(not ACCELERATED, reason="the C writer is not built here")
WRITERS = [pytest.param(False, id="python"), pytest.param(True, id="c", marks=_NOT_BUILT)]


def _writer(version: str, accelerated: bool = ACCELERATED) -> ResponseWriter:
    pbs = {cid: _creative_pb(cid, f"Buy {cid}") for cid in ("cr-1", "cr-2", "")}
    return ResponseWriter(version, KEY, pbs, accelerated=accelerated)


def _payload_bytes(token: str) -> bytes:
    body = token.partition(".")[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


@pytest.mark.parametrize("accelerated", WRITERS)
@settings(max_examples=200)
@given(request=_requests, ad=_ads, now=_int64, version=_text, arms=_arms)
def test_payload_bytes_equal_deterministic_serialization(  # noqa: PLR0917 - hypothesis passes them by name
    accelerated: bool, request: GetAdsRequest, ad: SelectedAd, now: int, version: str, arms: tuple[ArmAssignment, ...]
) -> None:
    """The token payload is byte for byte TrackingTokenPayload.SerializeToString(deterministic=True)."""
    written = GetAdsResponse.FromString(_writer(version, accelerated).write(request, [ad], 0, now, arms))
    raw = _payload_bytes(written.ads[0].tracking_token)
    assert raw == _reference_payload(request, ad, now, version, arms).SerializeToString(deterministic=True)


@pytest.mark.parametrize("accelerated", WRITERS)
@settings(max_examples=100)
@given(request=_requests, ad=_ads, now=_int64, arms=_arms, key_id=st.text(max_size=40))
def test_signing_key_id_is_written_into_every_payload(  # noqa: PLR0917 - hypothesis passes them by name
    accelerated: bool, request: GetAdsRequest, ad: SelectedAd, now: int, arms: tuple[ArmAssignment, ...], key_id: str
) -> None:
    """A writer given its key's id writes it last in each payload, as deterministic serialization does."""
    pbs = {cid: _creative_pb(cid, f"Buy {cid}") for cid in ("cr-1", "cr-2", "")}
    writer = ResponseWriter("v1", KEY, pbs, signing_key_id=key_id, accelerated=accelerated)
    written = GetAdsResponse.FromString(writer.write(request, [ad], 0, now, arms))
    expected = _reference_payload(request, ad, now, "v1", arms)
    expected.signing_key_id = key_id
    assert _payload_bytes(written.ads[0].tracking_token) == expected.SerializeToString(deterministic=True)


@pytest.mark.parametrize("accelerated", WRITERS)
@settings(max_examples=100)
@given(
    request=_requests,
    ads=_ad_lists,
    now=st.integers(min_value=0, max_value=2**45),
    version=_text,
    arms=_arms,
    no_fill=_no_fills,
)
def test_response_parses_to_the_protobuf_built_answer(  # noqa: PLR0917 - hypothesis passes them by name
    accelerated: bool,
    request: GetAdsRequest,
    ads: list[SelectedAd],
    now: int,
    version: str,
    arms: tuple[ArmAssignment, ...],
    no_fill: int,
) -> None:
    """The written answer parses to the GetAdsResponse built field by field, with verifiable tokens."""
    raw = _writer(version, accelerated).write(request, ads, no_fill, now, arms)
    expected = GetAdsResponse(
        index_version=version,
        request_id=request.request_id,
        no_fill_reason=no_fill,  # type: ignore[arg-type]
    )
    for ad in ads:
        payload = _reference_payload(request, ad, now, version, arms)
        expected.ads.append(
            Ad(
                ad_id=ad.ad_id,
                campaign_id=ad.line_item.campaign_id,
                line_item_id=ad.line_item.line_item_id,
                advertiser_id=ad.line_item.advertiser_id,
                creative=_creative_pb(ad.creative.creative_id, f"Buy {ad.creative.creative_id}"),
                slot_id=ad.slot_id,
                tracking_token=tracking_token.sign(payload, KEY),
            )
        )
    parsed = GetAdsResponse.FromString(raw)
    assert parsed == expected
    for ad_pb in parsed.ads:
        assert ad_pb.HasField("creative")
        tracking_token.verify(ad_pb.tracking_token, KEY)


@_NOT_BUILT
@settings(max_examples=200)
@given(
    request=_requests,
    ads=_ad_lists,
    now=_int64,
    version=_text,
    arms=_arms,
    no_fill=_no_fills,
)
def test_c_writer_writes_the_python_writers_bytes(  # noqa: PLR0917 - hypothesis passes them by name
    request: GetAdsRequest,
    ads: list[SelectedAd],
    now: int,
    version: str,
    arms: tuple[ArmAssignment, ...],
    no_fill: int,
) -> None:
    """The C writer's answer is byte for byte the Python writer's, tokens included."""
    by_c = _writer(version, accelerated=True).write(request, ads, no_fill, now, arms)
    assert by_c == _writer(version, accelerated=False).write(request, ads, no_fill, now, arms)


@_NOT_BUILT
def test_c_writer_rejects_malformed_parts() -> None:
    """Parts of the wrong shape are a TypeError from the C writer, not a crash or a wrong answer."""
    assert _write_ads is not None
    inner, outer = tracking_token.Signer(KEY).keyed_states
    good = ("id", b"", b"", b"", b"", 5, b"")
    args = (b"", 0, "r", "s", "c", "x", b"", 1)
    assert _write_ads(inner, outer, [good], *args)
    with pytest.raises(TypeError):
        _write_ads(inner, outer, [good[:6]], *args)
    with pytest.raises(TypeError):
        _write_ads(inner, outer, [("id", "not bytes", b"", b"", b"", 5, b"")], *args)
    with pytest.raises(TypeError):
        _write_ads(inner, outer, (good,), *args)
    with pytest.raises(TypeError):  # the second ad is malformed: nothing is written, nothing leaks
        _write_ads(inner, outer, [good, ("id", b"", b"", b"", b"", "5", b"")], *args)
    with pytest.raises(TypeError, match="digest"):
        _write_ads(hashlib.blake2b(digest_size=8), outer, [good], *args)
    with pytest.raises(AttributeError):
        _write_ads(object(), outer, [good], *args)


@_NOT_BUILT
def test_c_writer_keeps_reference_counts() -> None:
    """Many answers written (and failed) leave the pieces' reference counts as they were."""
    assert _write_ads is not None
    inner, outer = tracking_token.Signer(KEY).keyed_states
    piece, ad_id = b"piece", "ad-1"
    ad = (ad_id, piece, piece, piece, piece, 7, piece)
    args = (piece, 3, "r", "s", "c", "x", piece, 1)
    before = sys.getrefcount(piece), sys.getrefcount(ad_id), sys.getrefcount(ad), sys.getrefcount(inner)
    for _ in range(1000):
        _write_ads(inner, outer, [ad, ad], *args)
        with pytest.raises(TypeError):
            _write_ads(inner, outer, [ad, ad[:3]], *args)
    assert (sys.getrefcount(piece), sys.getrefcount(ad_id), sys.getrefcount(ad), sys.getrefcount(inner)) == before


def test_no_index_answer_carries_reason_and_request_id() -> None:
    """An edge without an index answers only the no-fill reason and the request id."""
    parsed = GetAdsResponse.FromString(no_index_response(1, "req-9"))
    assert parsed == GetAdsResponse(no_fill_reason=1, request_id="req-9")  # type: ignore[arg-type]


def test_writer_knows_every_field_of_what_it_writes() -> None:
    """A field added to the token payload, Ad or GetAdsResponse must be added to the writer too."""
    for message in (TrackingTokenPayload, Ad, GetAdsResponse):
        descriptor = message.DESCRIPTOR
        assert {f.name for f in descriptor.fields} == WRITTEN_FIELDS[descriptor.full_name]
