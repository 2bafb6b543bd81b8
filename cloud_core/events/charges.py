"""Whether a charge stands on terms the cloud itself issued. Pure.

A token is only as good as its key: it must verify under a key registered to the uploading store's
edge and not revoked when the cloud receives the event (or, until the cut-over, under the store's
shared key of the days before per-edge keys). A verified token's charge must then fit the terms of
the index version it names: a version the cloud sent to that store, holding the line item with that
creative, owned by the token's campaign and advertiser, priced by the same model at no more than its
bid, within its flight. Anything else is refused with a ``DeadLetterReason`` and flags the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from cartads import tracking_token
from cartads.v1 import admin_pb2, tracking_pb2
from cloud_core.compile.terms import VersionTerms

R = admin_pb2.DeadLetterReason
OK = R.DEAD_LETTER_REASON_UNSPECIFIED
# Edge and cart clocks drift: times are compared with this much slack.
CLOCK_SLACK_US = 300 * 1_000_000
# Reasons no honest edge causes: they flag the edge that uploaded the event.
FLAGGING_REASONS = frozenset(range(R.DEAD_LETTER_REASON_MALFORMED, R.DEAD_LETTER_REASON_LEGACY_TOKEN + 1))
# Reasons found only after the token's MAC verified: its key signed the charge.
SIGNED_REASONS = frozenset(range(R.DEAD_LETTER_REASON_VERSION_NOT_SENT, R.DEAD_LETTER_REASON_OUTSIDE_FLIGHT + 1))


@dataclass(frozen=True)
class SigningKeyRecord:
    """A tracking token key as the cloud registered it."""

    key_id: str
    store_id: str
    edge_id: str
    key: bytes
    create_time_us: int
    # 0 while accepted.
    revoke_time_us: int = 0
    registered_by: str = ""


@dataclass(frozen=True)
class ChargeRecords:
    """What the cloud recorded that one upload's tokens name: their keys, and of their index versions,
    when each was first sent to the uploading store and the terms it granted."""

    keys: Mapping[str, SigningKeyRecord] = field(default_factory=dict)
    sent_us: Mapping[str, int] = field(default_factory=dict)
    terms: Mapping[str, VersionTerms] = field(default_factory=dict)
    # The upload's tokens' payloads as parsed (unverified) to find what to load, by token: each token
    # is parsed once per upload.
    peeked: Mapping[str, tracking_token.OpenedToken] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargePolicy:
    """How one upload's tokens are judged: its store, the store's shared key and its cut-over, and the
    cloud's clock when the upload arrived (revocations take effect by it)."""

    store_id: str
    legacy_key: bytes
    legacy_until_us: int
    now_us: int


class TokenVerdict(NamedTuple):
    """A token's payload when it verified (else None), and why not as a reason code and text (a tuple:
    one is made per uploaded event)."""

    payload: tracking_pb2.TrackingTokenPayload | None
    code: int = OK
    reason: str = ""
    key_id: str = ""


def _name(code: int) -> str:
    return R.Name(code).removeprefix("DEAD_LETTER_REASON_")


def refusal(code: int, detail: str) -> str:
    """The dead letter text of a refused charge: its reason's name and what was wrong."""
    return f"{_name(code)}: {detail}"


def verify_token(
    token: str,
    policy: ChargePolicy,
    records: ChargeRecords,
    opened: tracking_token.OpenedToken | None = None,
) -> TokenVerdict:
    """The token's payload when its MAC verifies under a key this store may sign with (``opened``: the
    token decoded already, unverified, so it is decoded once)."""
    try:
        if opened is None:
            opened = tracking_token.open_token(token)
    except tracking_token.InvalidTokenError as exc:
        code = R.DEAD_LETTER_REASON_TOKEN_SIGNATURE
        return TokenVerdict(None, code, refusal(code, str(exc)))
    payload = opened.payload
    key_id = payload.signing_key_id
    if not key_id:
        if policy.now_us >= policy.legacy_until_us:
            code = R.DEAD_LETTER_REASON_LEGACY_TOKEN
            return TokenVerdict(None, code, refusal(code, "the store's shared key is no longer accepted"))
        key = policy.legacy_key
    else:
        record = records.keys.get(key_id)
        if record is None:
            code = R.DEAD_LETTER_REASON_UNKNOWN_SIGNING_KEY
            return TokenVerdict(None, code, refusal(code, "the token's key was never registered"), key_id)
        if record.store_id != policy.store_id:
            code = R.DEAD_LETTER_REASON_FOREIGN_STORE
            return TokenVerdict(None, code, refusal(code, "the token's key is another store's"), key_id)
        if record.revoke_time_us and policy.now_us >= record.revoke_time_us:
            code = R.DEAD_LETTER_REASON_REVOKED_SIGNING_KEY
            return TokenVerdict(None, code, refusal(code, "the token's key was revoked"), key_id)
        key = record.key
    if not opened.mac_matches(key):
        code = R.DEAD_LETTER_REASON_TOKEN_SIGNATURE
        return TokenVerdict(None, code, refusal(code, "token signature does not match"), key_id)
    if payload.store_id != policy.store_id:
        code = R.DEAD_LETTER_REASON_FOREIGN_STORE
        return TokenVerdict(
            None, code, refusal(code, f"the token was issued for store {payload.store_id[:64]!r}"), key_id
        )
    return TokenVerdict(payload, OK, "", key_id)


def terms_problem(
    payload: tracking_pb2.TrackingTokenPayload, policy: ChargePolicy, records: ChargeRecords
) -> tuple[int, str]:
    """(reason code, text) when the charge the token claims is outside the terms the cloud sent the
    store, (OK, "") when it fits them. Tokens of the store's shared key predate recorded terms and are
    judged by their key alone (until the cut-over)."""
    if not payload.signing_key_id:
        return OK, ""
    version = payload.index_version
    sent_us = records.sent_us.get(version)
    terms = records.terms.get(version)
    if sent_us is None or terms is None:
        code = R.DEAD_LETTER_REASON_VERSION_NOT_SENT
        return code, refusal(code, f"index version {version[:16]!r} was never sent to this store")
    li = terms.line_items.get(payload.line_item_id)
    if li is None:
        code = R.DEAD_LETTER_REASON_LINE_ITEM_NOT_IN_VERSION
        return code, refusal(code, "the line item is not in the token's index version")
    if li.campaign_id != payload.campaign_id or li.advertiser_id != payload.advertiser_id:
        code = R.DEAD_LETTER_REASON_OWNER_MISMATCH
        return code, refusal(code, "the line item belongs to another campaign or advertiser")
    if payload.creative_id not in li.creative_ids:
        code = R.DEAD_LETTER_REASON_CREATIVE_NOT_IN_LINE_ITEM
        return code, refusal(code, "the creative is not the line item's in that version")
    if int(payload.pricing_model) != li.pricing_model:
        code = R.DEAD_LETTER_REASON_PRICE_ABOVE_TERMS
        return code, refusal(code, "the token's pricing model is not the line item's")
    if payload.price_micros > li.max_price_micros or payload.price_micros < 0:
        code = R.DEAD_LETTER_REASON_PRICE_ABOVE_TERMS
        return code, refusal(code, f"price {payload.price_micros} above the {li.max_price_micros} that version allowed")
    issued_us = payload.issue_time_unix_ms * 1000
    late = li.end_us and issued_us > li.end_us + CLOCK_SLACK_US
    if issued_us < max(li.start_us, sent_us) - CLOCK_SLACK_US or late or issued_us > policy.now_us + CLOCK_SLACK_US:
        code = R.DEAD_LETTER_REASON_OUTSIDE_FLIGHT
        return code, refusal(code, "issued outside the line item's flight or before its version was sent")
    return OK, ""
