"""The bound of every number (and string length) a caller sends, and pure checks that enforce them.

Each check returns ``(field, why)`` violations, empty when the value is within its bounds; the
servers turn them into INVALID_ARGUMENT (a cart's or an operator's request, the structure of an
edge's upload) or a dead letter (one event of an upload). Bounds are chosen so that no ledger or
rollup column can overflow at them: one event's charge is at most a bid (10^11 micros), a
campaign's charged spend at most its budget (10^15), one event's value at most 999 × 10^9 micros;
a BIGINT holds 9.2 × 10^18. Timestamps are checked here before anything converts them (a Timestamp
of 10^15 seconds overflows microseconds, and ``ToDatetime`` raises).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf.message import Message

from cartads.sales_windows import loyalty_id_problem
from cartads.time_units import DAY_US, HOUR_US, US_PER_S
from cartads.v1 import common_pb2

Violation = tuple[str, str]

# ---- times ----
MIN_EVENT_TIME_S = 1_577_836_800  # 2020-01-01T00:00:00Z: nothing of CartAds happened before
MAX_EVENT_TIME_S = 4_102_444_800  # 2100-01-01T00:00:00Z
MIN_ADMIN_TIME_S = 946_684_800  # 2000-01-01T00:00:00Z: flights and report ranges
MAX_ADMIN_TIME_S = MAX_EVENT_TIME_S
MAX_NANOS = 999_999_999
# An edge's clock may run ahead of the cloud's by this much before its receive times are refused.
MAX_RECEIVE_AHEAD_US = 10 * 60 * US_PER_S
MAX_CART_CLOCK_OFFSET_MS = 24 * 3600 * 1000

# ---- what a cart sends ----
MAX_ID_CHARS = 128
MAX_ADS = 10
MAX_BASKET_LINES = 500
MAX_SLOTS = 10
MAX_EVENTS_PER_REPORT = 1_000
MIN_QUANTITY = 1
MAX_QUANTITY = 999
MAX_VISIBLE_DURATION_MS = 24 * 3600 * 1000
MAX_TRACKING_TOKEN_CHARS = 1_024
MAX_CART_CREDENTIAL_CHARS = 200

# ---- what an edge sends ----
MAX_SEQ = 2**63 - 1  # the events table's BIGINT
MAX_EVENTS_PER_UPLOAD = 5_000
MAX_UNIT_PRICE_MICROS = 10**9  # $1,000 for one product
MAX_COUNT_PER_ROW = 10**9
COUNT_ROW_MAX_AGE_US = 40 * DAY_US
COUNT_ROW_MAX_AHEAD_US = HOUR_US
MAX_VERSION_CHARS = 128
MAX_NONCE_CHARS = 64
MAX_ERROR_DETAIL_CHARS = 4_096

# ---- what an operator sends ----
MAX_BUDGET_MICROS = 10**15
MAX_BID_MICROS = 10**11
MAX_PRODUCT_PRICE_MICROS = 10**9
MAX_FREQUENCY_CAP = 10**6
MAX_ADS_PER_TRIP = 100
MAX_CLICK_RATE_WEIGHT = 100.0
MAX_TRAFFIC_BPS = 10_000
MAX_REPORT_DAYS = 400
MAX_PAGE_SIZE = 1_000

# ---- what storage keeps ----
# A trip's sales are clamped here before they are squared for the experiment variance sums
# (10^7 cents, 10^14 cents²): 92,000 such trips fit one row-hour of a BIGINT.
MAX_TRIP_SALES_MICROS = 10**11
# Rollup adds saturate here instead of overflowing (leaving room below BIGINT's 2^63 - 1).
ROLLUP_SATURATION = 2**62

# Caller-supplied strings in a log line or an error message are cut to this many characters.
MAX_LOGGED_CHARS = 128

_BASKET_TYPES = frozenset({common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_BASKET_REMOVE})
# Made by the edge's attribution (add-to-cart conversions, sales at checkout): they carry how.
_ATTRIBUTED_TYPES = frozenset(
    {common_pb2.EVENT_TYPE_CONVERSION, common_pb2.EVENT_TYPE_ATTRIBUTED_SALE, common_pb2.EVENT_TYPE_HALO_SALE}
)
_SALE_TYPES = frozenset({common_pb2.EVENT_TYPE_ATTRIBUTED_SALE, common_pb2.EVENT_TYPE_HALO_SALE})


def clip(text: str, max_chars: int = MAX_LOGGED_CHARS) -> str:
    """``text`` cut to ``max_chars`` characters, saying how many were left out.

    For every string a caller chose that reaches a log line or an error message: a 1 MB id must
    cost a log line what a short one does.
    """
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…(+{len(text) - max_chars})"


def check_range(value: float, low: float, high: float, field: str) -> list[Violation]:
    """``value`` within [low, high]; the message names the side it missed."""
    if low <= value <= high:
        return []
    if value > high:
        return [(field, f"must be at most {_number(high)}")]
    if value < low:
        return [
            (field, "must be > 0" if low == 1 else "must be >= 0" if low == 0 else f"must be at least {_number(low)}")
        ]
    return [(field, f"must be a number between {_number(low)} and {_number(high)}")]  # NaN


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def check_timestamp(
    seconds: int, nanos: int, field: str, *, low_s: int = MIN_EVENT_TIME_S, high_s: int = MAX_EVENT_TIME_S
) -> list[Violation]:
    """A Timestamp's parts: seconds in [low_s, high_s), nanos in [0, 10^9)."""
    if not 0 <= nanos <= MAX_NANOS:
        return [(field, f"nanos must be between 0 and {MAX_NANOS:,}")]
    if not low_s <= seconds < high_s:
        return [(field, f"must be a time from {_utc_day(low_s)} to {_utc_day(high_s)}")]
    return []


def _utc_day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def check_text(value: str, max_chars: int, field: str, *, required: bool = False) -> list[Violation]:
    """A caller's string: present when ``required``, at most ``max_chars``, no NUL (PostgreSQL text has none)."""
    if not value:
        return [(field, "is required")] if required else []
    if len(value) > max_chars:
        return [(field, f"is longer than {max_chars} characters")]
    if "\x00" in value:
        return [(field, "must not contain NUL characters")]
    return []


def nul_violations(message: Message, prefix: str = "") -> list[Violation]:
    """Every text field of ``message`` (at any depth) holding a NUL, which PostgreSQL text cannot store.

    For requests whose strings are stored as they come (an operator's names, headlines, labels):
    without this, such a request would fail in the database instead of naming its field.
    """
    out: list[Violation] = []
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        values = list(value) if field.is_repeated else [value]
        for i, item in enumerate(values):
            where = f"{name}[{i}]" if field.is_repeated else name
            if field.type == field.TYPE_STRING and "\x00" in item:
                out.append((where, "must not contain NUL characters"))
            elif field.type == field.TYPE_MESSAGE:
                out += nul_violations(item, f"{where}.")
    return out


def check_id(value: str, field: str, *, required: bool = False, max_chars: int = MAX_ID_CHARS) -> list[Violation]:
    """An id a caller sends: the rules of ``check_text`` at ``MAX_ID_CHARS``."""
    return check_text(value, max_chars, field, required=required)


def _quantity(event: common_pb2.CartEvent, prefix: str, *, from_cart: bool) -> list[Violation]:
    field = f"{prefix}.quantity"
    if not from_cart:
        # Edges before these bounds journaled basket events with quantity 0 (valued as one).
        return check_range(event.quantity, 0, MAX_QUANTITY, field)
    if event.type in _BASKET_TYPES:
        return check_range(event.quantity, MIN_QUANTITY, MAX_QUANTITY, field)
    return [] if event.quantity == 0 else [(field, "must be 0 for an event that is not a basket change")]


def _visible_duration(event: common_pb2.CartEvent, prefix: str, *, from_cart: bool) -> list[Violation]:
    field = f"{prefix}.visible_duration_ms"
    if not from_cart or event.type == common_pb2.EVENT_TYPE_IMPRESSION:
        return check_range(event.visible_duration_ms, 0, MAX_VISIBLE_DURATION_MS, field)
    return [] if event.visible_duration_ms == 0 else [(field, "must be 0 for an event that is not an impression")]


def _attribution(event: common_pb2.CartEvent, prefix: str, *, from_cart: bool) -> list[Violation]:
    # Made by the edge's attribution, on the conversions and sales it makes: never a cart's to set.
    if not from_cart and event.type in _ATTRIBUTED_TYPES:
        return []
    why = "is set by the edge only" if from_cart else "is set on conversions only"
    out = []
    if event.attribution:
        out.append((f"{prefix}.attribution", why))
    if event.attributed_event_id:
        out.append((f"{prefix}.attributed_event_id", why))
    return out


def _checkout(event: common_pb2.CartEvent, prefix: str, *, from_cart: bool) -> list[Violation]:
    checkout = event.type == common_pb2.EVENT_TYPE_CHECKOUT
    out: list[Violation] = []
    lines = event.purchased_lines
    if lines and not checkout:
        out.append((f"{prefix}.purchased_lines", "must be empty for an event that is not a checkout"))
    elif len(lines) > MAX_BASKET_LINES:
        out.append((f"{prefix}.purchased_lines", f"has more than {MAX_BASKET_LINES} lines"))
    else:
        for i, line in enumerate(lines):
            where = f"{prefix}.purchased_lines[{i}]"
            out += check_id(line.product_id, f"{where}.product_id", required=True)
            out += check_range(line.quantity, MIN_QUANTITY, MAX_QUANTITY, f"{where}.quantity")
            if len(out) >= 20:
                break
    if event.loyalty_id:
        problem = loyalty_id_problem(event.loyalty_id)
        if not checkout:
            out.append((f"{prefix}.loyalty_id", "must be empty for an event that is not a checkout"))
        elif problem:
            out.append((f"{prefix}.loyalty_id", problem))
    if event.cross_trip and (from_cart or event.type not in _SALE_TYPES):
        why = "is set by the edge only" if from_cart else "is set on sales only"
        out.append((f"{prefix}.cross_trip", why))
    return out


def event_within_bounds(event: common_pb2.CartEvent, *, from_cart: bool, max_id_chars: int = MAX_ID_CHARS) -> bool:
    """``event_violations(...) == []``, decided without naming any field: the common case, made cheap
    (ingest checks every event of every upload; naming fields costs more than checking them)."""
    event_id, cart_id, session_id = event.event_id, event.cart_id, event.session_id
    ad_id, product_id, token = event.ad_id, event.product_id, event.tracking_token
    if (
        not event_id
        or len(event_id) > max_id_chars
        or len(cart_id) > max_id_chars
        or len(session_id) > max_id_chars
        or len(ad_id) > max_id_chars
        or len(product_id) > max_id_chars
        or len(token) > MAX_TRACKING_TOKEN_CHARS
        or "\x00" in "".join((event_id, cart_id, session_id, ad_id, product_id, token))
    ):
        return False
    kind = event.type
    quantity, visible_ms = event.quantity, event.visible_duration_ms
    if from_cart:
        basket = kind in _BASKET_TYPES
        if not (MIN_QUANTITY <= quantity <= MAX_QUANTITY if basket else quantity == 0):
            return False
        impression = kind == common_pb2.EVENT_TYPE_IMPRESSION
        if not (0 <= visible_ms <= MAX_VISIBLE_DURATION_MS if impression else visible_ms == 0):
            return False
    elif not (0 <= quantity <= MAX_QUANTITY and 0 <= visible_ms <= MAX_VISIBLE_DURATION_MS):
        return False
    if event.HasField("occur_time"):
        occur = event.occur_time
        if not (MIN_EVENT_TIME_S <= occur.seconds < MAX_EVENT_TIME_S and 0 <= occur.nanos <= MAX_NANOS):
            return False
    if (event.attribution or event.attributed_event_id) and (from_cart or kind not in _ATTRIBUTED_TYPES):
        return False
    if event.purchased_lines or event.loyalty_id or event.cross_trip:
        return False  # a checkout or a sale: its lines and ids are checked field by field
    # A cart's shelf price is overwritten by the edge before journaling; an edge's is bounded. (The
    # experiment arms an edge stamps are ids of its index, made by the cloud: reading them here would
    # cost more than the rest of this check.)
    return from_cart or 0 <= event.unit_price_micros <= MAX_UNIT_PRICE_MICROS


def event_violations(
    event: common_pb2.CartEvent, prefix: str, *, from_cart: bool, max_id_chars: int = MAX_ID_CHARS
) -> list[Violation]:
    """An event's numbers, times and strings within bounds.

    ``from_cart``: as a cart reports it to the edge (quantities only on basket changes, durations
    only on impressions, no edge-made fields). Otherwise as an edge uploads it: the edge's own
    fields (conversions, their attribution, the shelf price) are allowed and bounded too.
    """
    if event_within_bounds(event, from_cart=from_cart, max_id_chars=max_id_chars):
        return []
    return event_field_violations(event, prefix, from_cart=from_cart, max_id_chars=max_id_chars)


def event_field_violations(
    event: common_pb2.CartEvent, prefix: str, *, from_cart: bool, max_id_chars: int = MAX_ID_CHARS
) -> list[Violation]:
    """``event_violations`` without its cheap first check: every field checked and named."""
    out = check_id(event.event_id, f"{prefix}.event_id", required=True, max_chars=max_id_chars)
    for name in ("cart_id", "session_id", "ad_id", "product_id"):
        out += check_id(getattr(event, name), f"{prefix}.{name}", max_chars=max_id_chars)
    out += check_text(event.tracking_token, MAX_TRACKING_TOKEN_CHARS, f"{prefix}.tracking_token")
    out += _quantity(event, prefix, from_cart=from_cart)
    out += _visible_duration(event, prefix, from_cart=from_cart)
    if event.HasField("occur_time"):
        out += check_timestamp(event.occur_time.seconds, event.occur_time.nanos, f"{prefix}.occur_time")
    out += _attribution(event, prefix, from_cart=from_cart)
    out += _checkout(event, prefix, from_cart=from_cart)
    if not from_cart:
        out += check_range(event.unit_price_micros, 0, MAX_UNIT_PRICE_MICROS, f"{prefix}.unit_price_micros")
    return out


def check_strictly_increasing(values: Iterable[int], field: str, low: int, high: int) -> list[Violation]:
    """Each value within [low, high] and above the one before (the first violation only)."""
    previous = None
    for i, value in enumerate(values):
        if not low <= value <= high:
            return [(f"{field}[{i}]", f"must be between {low:,} and {high:,}")]
        if previous is not None and value <= previous:
            return [(f"{field}[{i}]", f"must be greater than the one before ({previous})")]
        previous = value
    return []
