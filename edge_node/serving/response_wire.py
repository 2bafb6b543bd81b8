"""GetAds answers written straight to protobuf wire format, from pieces serialized once per version.

Building a GetAdsResponse field by field (two Ad messages, a copied Creative, a TrackingTokenPayload
per ad, then serializing it all) was the largest part of the edge's own work per request. Almost
all of those bytes depend only on the index version and the (line item, creative) pair chosen, so
they are serialized once, the first time the pair is served, and a request only writes its few own
fields (ad id, cart, session, price, time, slot, token) around them. Protobuf's wire format allows
exactly this: a message is the concatenation of its encoded fields, and repeated fields are
encoded one element after the other.

The tracking token's payload is written in field-number order, skipping default values: byte for
byte what ``TrackingTokenPayload.SerializeToString(deterministic=True)`` gives (a test checks it),
so ``cartads.tracking_token.verify`` and the cloud read it as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from cartads import tracking_token
from cartads.protowire import LEN, SMALL_VARINTS, VARINT, delimited, field_key, string_field, varint, varint_field
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.common_pb2 import ArmAssignment
from cartads.v1.common_pb2 import Creative as PbCreative
from edge_node.index.view import Creative, LineItem
from edge_node.serving import accelerators
from edge_node.serving.selection import SelectedAd

_C_WRITER = accelerators.load("_response_wire")
# write_ads(inner, outer, ads, version_field, no_fill_reason, request_id, store_id, cart_id,
#           session_id, request_tail, now_unix_ms) -> bytes (edge_node/serving/_response_wire.c)
_write_ads: Callable[..., bytes] | None = _C_WRITER.write_ads if _C_WRITER is not None else None
ACCELERATED = _write_ads is not None

_MAX_CACHED_ARMS = 1024
_MAX_CACHED_SLOTS = 1024
# ``varint`` of a length, inlined where every ad writes a few: a tuple index below this, not a call.
_SMALL_LIMIT = len(SMALL_VARINTS)

# The fields this module writes, per message: a test fails when a message gains a field, so that
# the writer learns it too (a field it did not write would silently be missing from every answer).
WRITTEN_FIELDS = {
    "cartads.v1.TrackingTokenPayload": frozenset(
        {
            "ad_id",
            "store_id",
            "cart_id",
            "session_id",
            "campaign_id",
            "line_item_id",
            "creative_id",
            "pricing_model",
            "price_micros",
            "issue_time_unix_ms",
            "index_version",
            "advertiser_id",
            "trigger",
            "experiment_arms",
            "signing_key_id",
        }
    ),
    "cartads.v1.Ad": frozenset(
        {"ad_id", "campaign_id", "line_item_id", "creative", "slot_id", "tracking_token", "advertiser_id"}
    ),
    "cartads.v1.GetAdsResponse": frozenset({"ads", "index_version", "no_fill_reason", "request_id"}),
}

# TrackingTokenPayload
_T_AD_ID = field_key(1, LEN)
_T_STORE_ID = field_key(2, LEN)
_T_CART_ID = field_key(3, LEN)
_T_SESSION_ID = field_key(4, LEN)
_T_CAMPAIGN_ID = field_key(5, LEN)
_T_LINE_ITEM_ID = field_key(6, LEN)
_T_CREATIVE_ID = field_key(7, LEN)
_T_PRICING_MODEL = field_key(8, VARINT)
_T_PRICE = field_key(9, VARINT)
_T_ISSUE_TIME = field_key(10, VARINT)
_T_INDEX_VERSION = field_key(11, LEN)
_T_ADVERTISER_ID = field_key(12, LEN)
_T_TRIGGER = field_key(140, VARINT)
_T_ARMS = field_key(160, LEN)
_T_SIGNING_KEY_ID = field_key(170, LEN)
# Ad
_A_CAMPAIGN_ID = field_key(2, LEN)
_A_LINE_ITEM_ID = field_key(3, LEN)
_A_CREATIVE = field_key(4, LEN)
_A_SLOT_ID = field_key(5, LEN)
_A_TOKEN = field_key(6, LEN)
_A_ADVERTISER_ID = field_key(7, LEN)
# GetAdsResponse
_R_AD = field_key(1, LEN)
_R_INDEX_VERSION = field_key(2, LEN)
_R_NO_FILL = field_key(3, VARINT)
_R_REQUEST_ID = field_key(4, LEN)


class _Pair:
    """The serialized parts of one (line item, creative) pair that every ad of it shares."""

    __slots__ = ("ad_middle", "ad_tail", "token_middle", "token_tail")

    def __init__(self, line_item: LineItem, creative: Creative, creative_pb: PbCreative, version: str) -> None:
        # Ad: [ad_id] campaign_id line_item_id creative [slot_id token] advertiser_id
        creative_bytes = creative_pb.SerializeToString(deterministic=True)
        self.ad_middle = (
            string_field(_A_CAMPAIGN_ID, line_item.campaign_id)
            + string_field(_A_LINE_ITEM_ID, line_item.line_item_id)
            # A set message field is written even when empty, as the protobuf-built answer did.
            + delimited(_A_CREATIVE, creative_bytes)
        )
        self.ad_tail = string_field(_A_ADVERTISER_ID, line_item.advertiser_id)
        # Payload: [ad_id store cart session] campaign line_item creative pricing [price time] version advertiser
        self.token_middle = (
            string_field(_T_CAMPAIGN_ID, line_item.campaign_id)
            + string_field(_T_LINE_ITEM_ID, line_item.line_item_id)
            + string_field(_T_CREATIVE_ID, creative.creative_id)
            + varint_field(_T_PRICING_MODEL, line_item.pricing_model)
        )
        self.token_tail = string_field(_T_INDEX_VERSION, version) + string_field(
            _T_ADVERTISER_ID, line_item.advertiser_id
        )


def arms_field(arms: Iterable[ArmAssignment]) -> bytes:
    """The payload's experiment_arms, one encoded element after the other."""
    return b"".join(delimited(_T_ARMS, arm.SerializeToString(deterministic=True)) for arm in arms)


def _text_field(tag: bytes, text: str) -> tuple[bytes, ...]:
    # The parts of a string field, for b"".join; none when empty (proto3 omits it).
    if not text:
        return ()
    data = text.encode()
    size = len(data)
    return (tag, SMALL_VARINTS[size] if size < _SMALL_LIMIT else varint(size), data)


class ResponseWriter:
    """Writes the answers of one index version; a pair's pieces are built the first time it serves.

    Per request this is one call with few Python-level steps: the pieces are cached, and what
    varies (ids, price, time, token) is joined around them in place.
    """

    __slots__ = (
        "_arms",
        "_c_write",
        "_creative_pbs",
        "_key_id_field",
        "_keyed",
        "_pairs",
        "_sign",
        "_slots",
        "_version_field",
        "signing_key_id",
        "version",
    )

    def __init__(
        self,
        version: str,
        signing_key: bytes,
        creative_pbs: Mapping[str, PbCreative],
        *,
        signing_key_id: str = "",
        accelerated: bool = ACCELERATED,
    ) -> None:
        self.version = version
        self.signing_key_id = signing_key_id
        signer = tracking_token.Signer(signing_key)
        # The payload's last field, the same in every token of the writer: which key signed it.
        self._key_id_field = string_field(_T_SIGNING_KEY_ID, signing_key_id)
        self._sign = signer.sign_serialized
        self._keyed = signer.keyed_states
        # The C writer when built (and not turned off): the same bytes, a quarter of the time.
        self._c_write = _write_ads if accelerated else None
        self._creative_pbs = creative_pbs
        self._version_field = string_field(_R_INDEX_VERSION, version)
        self._pairs: dict[tuple[str, str], _Pair] = {}
        # Encoded experiment arms per arm tuple (few: one per arm combination of the version).
        self._arms: dict[int, tuple[Sequence[ArmAssignment], bytes]] = {}
        # Encoded slot_id fields: requests without slots all use "slot-0", "slot-1", ...
        self._slots: dict[str, bytes] = {}

    def _pair(self, line_item: LineItem, creative: Creative) -> _Pair:
        # By ids: within a version an id names one line item (its trigger and experiment variants
        # differ only in rates and pacing, never in the ids, advertiser or pricing model written here).
        pair_key = (line_item.line_item_id, creative.creative_id)
        pair = self._pairs.get(pair_key)
        if pair is None:
            pb = self._creative_pbs[creative.creative_id]
            pair = self._pairs[pair_key] = _Pair(line_item, creative, pb, self.version)
        return pair

    def _arms_field(self, arm_pbs: Sequence[ArmAssignment]) -> bytes:
        # Messages are not hashable: cached per tuple object (each arm plan keeps its own tuple
        # for the version's lifetime), holding the tuple so that its id stays its own.
        cached = self._arms.get(id(arm_pbs))
        if cached is None or cached[0] is not arm_pbs:
            if len(self._arms) >= _MAX_CACHED_ARMS:  # only if callers pass fresh tuples
                self._arms.clear()
            cached = self._arms[id(arm_pbs)] = (arm_pbs, arms_field(arm_pbs))
        return cached[1]

    def _request_tail(self, request: GetAdsRequest, arm_pbs: Sequence[ArmAssignment]) -> bytes:
        # The token payload's last fields, the same for every ad of a request: trigger, arms, key id.
        tail = _T_TRIGGER + varint(request.trigger) if request.trigger else b""
        if arm_pbs:
            tail += self._arms_field(arm_pbs)
        if self._key_id_field:
            tail += self._key_id_field
        return tail

    def _slot_field(self, slot_id: str) -> bytes:
        field = self._slots.get(slot_id)
        if field is None:
            if len(self._slots) >= _MAX_CACHED_SLOTS:
                self._slots.clear()
            field = self._slots[slot_id] = string_field(_A_SLOT_ID, slot_id)
        return field

    def write(
        self,
        request: GetAdsRequest,
        ads: Sequence[SelectedAd],
        no_fill_reason: int,
        now_unix_ms: int,
        arm_pbs: Sequence[ArmAssignment] = (),
    ) -> bytes:
        """The serialized GetAdsResponse: ``ads`` with signed tracking tokens, or the no-fill reason."""
        if ads and self._c_write is not None:
            request_tail = self._request_tail(request, arm_pbs)
            parts = []
            for ad in ads:
                pair = self._pair(ad.line_item, ad.creative)
                parts.append(
                    (
                        ad.ad_id,
                        pair.token_middle,
                        pair.token_tail,
                        pair.ad_middle,
                        pair.ad_tail,
                        ad.price_micros,
                        self._slot_field(ad.slot_id),
                    )
                )
            inner, outer = self._keyed
            return self._c_write(
                inner,
                outer,
                parts,
                self._version_field,
                no_fill_reason,
                request.request_id,
                request.store_id,
                request.cart_id,
                request.session_id,
                request_tail,
                now_unix_ms,
            )
        tail = [self._version_field]
        if no_fill_reason:
            tail.append(_R_NO_FILL + varint(no_fill_reason))
        tail.extend(_text_field(_R_REQUEST_ID, request.request_id))
        if not ads:
            return b"".join(tail)
        # The token payload's fields in field-number order (what deterministic serialization writes):
        # ad_id | store cart session | campaign line_item creative pricing | price time | version
        # advertiser | trigger arms key_id. What is the same for every ad of the request is joined once.
        session_part = b"".join(
            (
                *_text_field(_T_STORE_ID, request.store_id),
                *_text_field(_T_CART_ID, request.cart_id),
                *_text_field(_T_SESSION_ID, request.session_id),
            )
        )
        request_tail = self._request_tail(request, arm_pbs)
        time_field = _T_ISSUE_TIME + varint(now_unix_ms) if now_unix_ms else b""
        sign = self._sign
        out: list[bytes] = []
        for ad in ads:
            pair = self._pair(ad.line_item, ad.creative)
            ad_id = _text_field(_T_AD_ID, ad.ad_id)
            price = ad.price_micros
            token = sign(
                b"".join(
                    (
                        *ad_id,
                        session_part,
                        pair.token_middle,
                        _T_PRICE + varint(price) if price else b"",
                        time_field,
                        pair.token_tail,
                        request_tail,
                    )
                )
            )
            size = len(token)
            body = b"".join(
                (
                    *ad_id,  # Ad.ad_id is field 1 as well: the same bytes
                    pair.ad_middle,
                    self._slot_field(ad.slot_id),
                    _A_TOKEN,
                    SMALL_VARINTS[size] if size < _SMALL_LIMIT else varint(size),
                    token,
                    pair.ad_tail,
                )
            )
            size = len(body)
            out += (_R_AD, SMALL_VARINTS[size] if size < _SMALL_LIMIT else varint(size), body)
        out += tail
        return b"".join(out)


def no_index_response(no_fill_reason: int, request_id: str) -> bytes:
    """The serialized answer of an edge that holds no index yet."""
    return varint_field(_R_NO_FILL, no_fill_reason) + string_field(_R_REQUEST_ID, request_id)
