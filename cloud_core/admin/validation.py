"""Pure input checks for the admin API: each returns (field, why) violations, empty when valid."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf.timestamp_pb2 import Timestamp

from cartads import bounds
from cartads.bounds import clip
from cartads.sales_windows import window_problem
from cartads.v1 import admin_pb2, common_pb2

Violation = tuple[str, str]

MAX_PAGE_SIZE = bounds.MAX_PAGE_SIZE
MAX_NAME_CHARS = 200
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_id(value: str, field_name: str) -> list[Violation]:
    """A client-given id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    if not _ID_RE.fullmatch(value):
        return [(field_name, "must be 1-64 characters of letters, digits, '.', '_' or '-'")]
    return []


def check_required_id(value: str, field_name: str) -> list[Violation]:
    """An id that must be present (its existence is checked elsewhere)."""
    return [] if value else [(field_name, "is required")]


def check_page_size(page_size: int) -> list[Violation]:
    """page_size is 0 (server default) up to MAX_PAGE_SIZE."""
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        return [("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")]
    return []


def _check_name(value: str, field_name: str) -> list[Violation]:
    if not value.strip():
        return [(field_name, "is required")]
    if len(value) > MAX_NAME_CHARS:
        return [(field_name, f"must be at most {MAX_NAME_CHARS} characters")]
    return []


def _check_state(state: int, field_name: str) -> list[Violation]:
    if state not in admin_pb2.ServingState.values():
        return [(field_name, "is not a known serving state")]
    return []


def validate_advertiser(advertiser: admin_pb2.Advertiser, prefix: str = "advertiser") -> list[Violation]:
    """An advertiser needs a display name."""
    return _check_name(advertiser.display_name, f"{prefix}.display_name")


def validate_campaign(campaign: admin_pb2.Campaign, prefix: str = "campaign") -> list[Violation]:
    """Name, parent, a flight whose end follows its start, a positive budget."""
    out = check_required_id(campaign.advertiser_id, f"{prefix}.advertiser_id")
    out += _check_name(campaign.display_name, f"{prefix}.display_name")
    if not campaign.HasField("start_time"):
        out.append((f"{prefix}.start_time", "is required"))
    if not campaign.HasField("end_time"):
        out.append((f"{prefix}.end_time", "is required"))
    for name in ("start_time", "end_time"):
        if campaign.HasField(name):
            out += check_timestamp(getattr(campaign, name), f"{prefix}.{name}")
    if campaign.HasField("start_time") and campaign.HasField("end_time"):
        start, end = campaign.start_time, campaign.end_time
        if (end.seconds, end.nanos) <= (start.seconds, start.nanos):
            out.append((f"{prefix}.end_time", "must be after start_time"))
    out += bounds.check_range(campaign.budget_micros, 1, bounds.MAX_BUDGET_MICROS, f"{prefix}.budget_micros")
    out += _check_cap(campaign.frequency_cap_per_session, f"{prefix}.frequency_cap_per_session")
    for name in ("click_through_window_s", "view_through_window_s"):
        problem = window_problem(getattr(campaign, name))
        if problem:
            out.append((f"{prefix}.{name}", problem))
    out += _check_state(campaign.state, f"{prefix}.state")
    return out


_MAX_LABEL_CHARS = 64


def check_timestamp(ts: Timestamp, field_name: str) -> list[Violation]:
    """An operator's time (a flight, a report range): 2000-01-01 up to 2100-01-01."""
    return bounds.check_timestamp(
        ts.seconds, ts.nanos, field_name, low_s=bounds.MIN_ADMIN_TIME_S, high_s=bounds.MAX_ADMIN_TIME_S
    )


def _check_cap(value: int, field_name: str) -> list[Violation]:
    """A frequency cap: 0 (none) up to MAX_FREQUENCY_CAP."""
    return bounds.check_range(value, 0, bounds.MAX_FREQUENCY_CAP, field_name)


def _check_unique(ids: Sequence[str], field_name: str, id_name: str) -> list[Violation]:
    seen: set[str] = set()
    out: list[Violation] = []
    for i, value in enumerate(ids):
        if value in seen:
            out.append((f"{field_name}[{i}].{id_name}", f"{clip(value)!r} appears more than once in this import"))
        seen.add(value)
    return out


def _validate_serving(line_item: admin_pb2.LineItem, prefix: str) -> list[Violation]:
    out: list[Violation] = []
    if line_item.priority_tier not in common_pb2.PriorityTier.values():
        out.append((f"{prefix}.priority_tier", f"unknown priority tier {line_item.priority_tier}"))
    out += _check_cap(line_item.creative_frequency_cap_per_session, f"{prefix}.creative_frequency_cap_per_session")
    if len(line_item.exclusion_label) > _MAX_LABEL_CHARS:
        out.append((f"{prefix}.exclusion_label", f"is longer than {_MAX_LABEL_CHARS} characters"))
    for i, hour in enumerate(line_item.targeting.daypart_hours):
        if not 0 <= hour <= 23:
            out.append((f"{prefix}.targeting.daypart_hours[{i}]", "must be an hour from 0 to 23"))
    for i, day in enumerate(line_item.targeting.daypart_weekdays):
        if not 1 <= day <= 7:
            out.append((f"{prefix}.targeting.daypart_weekdays[{i}]", "must be an ISO weekday from 1 (Monday) to 7"))
    return out


@dataclass(frozen=True)
class CatalogIds:
    """Catalog ids that exist in the stores a line item may serve in."""

    product_ids: frozenset[str] = frozenset()
    aisle_ids: frozenset[str] = frozenset()
    department_ids: frozenset[str] = frozenset()
    zone_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LineItemContext:
    """What a line item's references resolve to, looked up by the caller."""

    campaign_advertiser_id: str
    # creative id -> its advertiser id, for the creatives that exist
    creative_advertisers: Mapping[str, str] = field(default_factory=dict)
    known_store_ids: frozenset[str] = frozenset()
    catalog: CatalogIds = CatalogIds()


def _check_members(values: Sequence[str], known: Collection[str], field_name: str, what: str) -> list[Violation]:
    out: list[Violation] = []
    for i, value in enumerate(values):
        if not value:
            out.append((f"{field_name}[{i}]", "must not be empty"))
        elif value not in known:
            out.append((f"{field_name}[{i}]", f"{what} {clip(value)!r} is not in the targeted stores' catalogs"))
    return out


def _validate_targeting(targeting: admin_pb2.Targeting, ctx: LineItemContext, prefix: str) -> list[Violation]:
    out: list[Violation] = []
    for i, store_id in enumerate(targeting.store_ids):
        if store_id not in ctx.known_store_ids:
            out.append((f"{prefix}.store_ids[{i}]", f"store {clip(store_id)!r} does not exist"))
    out += _check_members(targeting.product_ids, ctx.catalog.product_ids, f"{prefix}.product_ids", "product")
    out += _check_members(targeting.aisle_ids, ctx.catalog.aisle_ids, f"{prefix}.aisle_ids", "aisle")
    out += _check_members(
        targeting.department_ids, ctx.catalog.department_ids, f"{prefix}.department_ids", "department"
    )
    out += _check_members(targeting.zone_ids, ctx.catalog.zone_ids, f"{prefix}.zone_ids", "zone")
    for i, brand in enumerate(targeting.brands):
        if not brand.strip():
            out.append((f"{prefix}.brands[{i}]", "must not be empty"))
    for i, trigger in enumerate(targeting.triggers):
        if trigger == common_pb2.TRIGGER_UNSPECIFIED or trigger not in common_pb2.Trigger.values():
            out.append((f"{prefix}.triggers[{i}]", "must be a known trigger, not TRIGGER_UNSPECIFIED"))
    return out


def check_targeting(targeting: admin_pb2.Targeting, ctx: LineItemContext, prefix: str = "targeting") -> list[Violation]:
    """A targeting on its own (a draft line item's, for the availability forecast): references and dayparts."""
    out = _validate_targeting(targeting, ctx, prefix)
    for i, hour in enumerate(targeting.daypart_hours):
        if not 0 <= hour <= 23:
            out.append((f"{prefix}.daypart_hours[{i}]", "must be an hour from 0 to 23"))
    for i, day in enumerate(targeting.daypart_weekdays):
        if not 1 <= day <= 7:
            out.append((f"{prefix}.daypart_weekdays[{i}]", "must be an ISO weekday from 1 (Monday) to 7"))
    return out


def validate_line_item(
    line_item: admin_pb2.LineItem, ctx: LineItemContext, prefix: str = "line_item"
) -> list[Violation]:
    """Name, pricing, a positive bid, creatives of the campaign's advertiser, targeting that exists."""
    out = check_required_id(line_item.campaign_id, f"{prefix}.campaign_id")
    out += _check_name(line_item.display_name, f"{prefix}.display_name")
    model = line_item.pricing_model
    if model == common_pb2.PRICING_MODEL_UNSPECIFIED or model not in common_pb2.PricingModel.values():
        out.append((f"{prefix}.pricing_model", "must be CPM, CPC or CPA"))
    out += bounds.check_range(line_item.bid_micros, 1, bounds.MAX_BID_MICROS, f"{prefix}.bid_micros")
    out += _check_cap(line_item.frequency_cap_per_session, f"{prefix}.frequency_cap_per_session")
    if not line_item.creative_ids:
        out.append((f"{prefix}.creative_ids", "at least one creative is required"))
    for i, creative_id in enumerate(line_item.creative_ids):
        # One answer for "no such creative" and "another advertiser's": an advertiser token must not
        # learn which creative ids exist.
        if ctx.creative_advertisers.get(creative_id) != ctx.campaign_advertiser_id:
            out.append((f"{prefix}.creative_ids[{i}]", "is not a creative of this campaign's advertiser"))
    if len(set(line_item.creative_ids)) != len(line_item.creative_ids):
        out.append((f"{prefix}.creative_ids", "must not repeat a creative"))
    out += _validate_targeting(line_item.targeting, ctx, f"{prefix}.targeting")
    out += _validate_serving(line_item, prefix)
    if line_item.pacing_type not in admin_pb2.PacingType.values():
        out.append((f"{prefix}.pacing_type", f"unknown pacing type {line_item.pacing_type}"))
    # 0 derives the daily budget from the campaign's.
    out += bounds.check_range(
        line_item.daily_budget_micros, 0, bounds.MAX_BUDGET_MICROS, f"{prefix}.daily_budget_micros"
    )
    out += _check_state(line_item.state, f"{prefix}.state")
    return out


def validate_creative(creative: admin_pb2.CreativeSpec, prefix: str = "creative") -> list[Violation]:
    """Name, parent and format; a sponsored product names its product, a coupon its offer."""
    out = check_required_id(creative.advertiser_id, f"{prefix}.advertiser_id")
    out += _check_name(creative.display_name, f"{prefix}.display_name")
    fmt = creative.format
    if fmt == common_pb2.CREATIVE_FORMAT_UNSPECIFIED or fmt not in common_pb2.CreativeFormat.values():
        out.append((f"{prefix}.format", "must be a known format, not CREATIVE_FORMAT_UNSPECIFIED"))
    if fmt == common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT and not creative.promoted_product_id:
        out.append((f"{prefix}.promoted_product_id", "is required for a sponsored product"))
    if fmt == common_pb2.CREATIVE_FORMAT_COUPON and not (creative.offer_text or creative.coupon_code):
        out.append((f"{prefix}.offer_text", "a coupon needs offer_text or coupon_code"))
    return out


def check_time_zone(name: str, field_name: str) -> list[Violation]:
    """An IANA time zone name that zoneinfo knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [(field_name, f"{clip(name)!r} is not a known IANA time zone")]
    return []


def validate_store(store: admin_pb2.Store, prefix: str = "store") -> list[Violation]:
    """A store needs a display name and a valid time zone."""
    return _check_name(store.display_name, f"{prefix}.display_name") + check_time_zone(
        store.time_zone, f"{prefix}.time_zone"
    )


def validate_catalog(
    aisles: Sequence[admin_pb2.Aisle],
    departments: Sequence[admin_pb2.Department],
    products: Sequence[admin_pb2.Product],
    known_aisle_ids: Collection[str],
    known_department_ids: Collection[str],
) -> list[Violation]:
    """Catalog rows need ids and names; products must sit in an aisle and department that exist."""
    out: list[Violation] = []
    out += _check_unique([a.aisle_id for a in aisles], "aisles", "aisle_id")
    out += _check_unique([d.department_id for d in departments], "departments", "department_id")
    out += _check_unique([p.product_id for p in products], "products", "product_id")
    for i, aisle in enumerate(aisles):
        out += check_id(aisle.aisle_id, f"aisles[{i}].aisle_id")
        out += _check_name(aisle.display_name, f"aisles[{i}].display_name")
        if aisle.zone_id:
            out += check_id(aisle.zone_id, f"aisles[{i}].zone_id")
    for i, dept in enumerate(departments):
        out += check_id(dept.department_id, f"departments[{i}].department_id")
        out += _check_name(dept.display_name, f"departments[{i}].display_name")
    for i, product in enumerate(products):
        out += check_id(product.product_id, f"products[{i}].product_id")
        out += _check_name(product.display_name, f"products[{i}].display_name")
        if product.aisle_id not in known_aisle_ids:
            out.append((f"products[{i}].aisle_id", f"aisle {clip(product.aisle_id)!r} is not in the catalog"))
        if product.department_id not in known_department_ids:
            out.append(
                (f"products[{i}].department_id", f"department {clip(product.department_id)!r} is not in the catalog")
            )
        out += bounds.check_range(
            product.price_micros, 0, bounds.MAX_PRODUCT_PRICE_MICROS, f"products[{i}].price_micros"
        )
    return out


def validate_cart(cart: admin_pb2.Cart, prefix: str = "cart") -> list[Violation]:
    """Ids of its store and itself (they go into its credential, so ':' never occurs in them), a
    display name of a bounded length (it may be empty), a known traffic class."""
    out = check_id(cart.store_id, f"{prefix}.store_id") + check_id(cart.cart_id, f"{prefix}.cart_id")
    if len(cart.display_name) > MAX_NAME_CHARS:
        out.append((f"{prefix}.display_name", f"must be at most {MAX_NAME_CHARS} characters"))
    if cart.traffic_class not in common_pb2.CartTrafficClass.values():
        out.append((f"{prefix}.traffic_class", "must be PRODUCTION, TEST or STAFF"))
    return out


def check_cart_name(store_id: str, cart_id: str, prefix: str = "") -> list[Violation]:
    """The store and cart a request names (``prefix``: of the message holding them, e.g. "cart.")."""
    return check_id(store_id, f"{prefix}store_id") + check_id(cart_id, f"{prefix}cart_id")


# Fields an update may change, per resource; an empty update mask means all of them.
SETTABLE_PATHS: Mapping[str, frozenset[str]] = {
    "advertiser": frozenset({"display_name"}),
    "campaign": frozenset(
        {"display_name", "start_time", "end_time", "budget_micros", "state", "frequency_cap_per_session"}
        | {"click_through_window_s", "view_through_window_s"}
    ),
    "line_item": frozenset(
        {"display_name", "pricing_model", "bid_micros", "targeting", "creative_ids", "frequency_cap_per_session"}
        | {"state", "priority_tier", "creative_frequency_cap_per_session", "exclusion_label"}
        | {"pacing_type", "daily_budget_micros"}
        | {f"targeting.{name}" for name in admin_pb2.Targeting.DESCRIPTOR.fields_by_name}
    ),
    "creative": frozenset(
        {
            "display_name",
            "format",
            "headline",
            "body",
            "image_url",
            "promoted_product_id",
            "call_to_action",
            "offer_text",
            "coupon_code",
            "image_asset_sha256",
            "recipe_product_ids",
        }
    ),
    "store": frozenset({"display_name", "time_zone"}),
    "cart": frozenset({"display_name", "traffic_class"}),
}


def check_update_mask(paths: Sequence[str], resource: str) -> list[Violation]:
    """Every path must be a settable field of the resource."""
    allowed = SETTABLE_PATHS[resource]
    return [
        ("update_mask", f"{clip(path)!r} is not a settable field of {resource}")
        for path in paths
        if path not in allowed
    ]


def effective_paths(paths: Sequence[str], resource: str) -> list[str]:
    """The paths an update applies: the mask's, or every settable top-level field when it is empty."""
    if paths:
        return list(paths)
    return sorted(p for p in SETTABLE_PATHS[resource] if "." not in p)
