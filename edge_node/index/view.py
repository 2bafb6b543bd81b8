"""The serving view: one index version turned into plain, immutable lookups, built once per version."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from cartads.cart_limits import DEFAULT_LIMITS, PerCartLimits, limits_from_pb
from cartads.ivt import DEFAULT_POLICY, IvtPolicy, policy_from_pb
from cartads.v1.index_pb2 import IndexLineItem, StoreIndex
from cartads.v1.index_pb2 import IndexProduct as PbProduct
from edge_node.index.arms import Layer, layers_from_index
from edge_node.index.carts import EnrolledCart, enrolled_carts

if TYPE_CHECKING:
    from edge_node.index.experiments import ExperimentTables
    from edge_node.index.tables import ServingTables


@dataclass(frozen=True, slots=True)
class LineItem:
    """What selection needs to know about one line item."""

    line_item_id: str
    campaign_id: str = ""
    advertiser_id: str = ""
    pricing_model: int = 1
    bid_micros: int = 0
    creative_ids: tuple[str, ...] = ()
    # None means the flight is open on that side.
    start_unix_ms: int | None = None
    end_unix_ms: int | None = None
    frequency_cap_per_session: int = 0
    budget_allowance_micros: int = 0
    predicted_ctr: float = 0.0
    predicted_cvr: float = 0.0
    promoted_product_ids: frozenset[str] = frozenset()
    # Empty means every trigger.
    triggers: frozenset[int] = frozenset()
    # cartads.v1.PriorityTier; 0 (unspecified) competes in the auction.
    priority_tier: int = 0
    creative_frequency_cap_per_session: int = 0
    campaign_frequency_cap_per_session: int = 0
    exclusion_label: str = ""
    # Empty means every hour (0-23) / every ISO weekday (1-7), in the store's time zone.
    daypart_hours: frozenset[int] = frozenset()
    daypart_weekdays: frozenset[int] = frozenset()
    pacing_factor: float = 1.0
    paused: bool = False
    campaign_paused: bool = False
    # The budget lease budget_allowance_micros belongs to ("" for an index without leases) and when
    # it ends (None: never); see edge_node/events/leases.py.
    budget_lease_id: str = ""
    budget_lease_expire_unix_ms: int | None = None
    # Pacing: the probability that the line item takes part in a request it is eligible for.
    pass_through_rate: float = 1.0
    # The campaign's sales attribution windows (0: the same trip only); edge_node/events/sales.py.
    click_through_window_s: int = 0
    view_through_window_s: int = 0


@dataclass(frozen=True, slots=True)
class RecipeItem:
    """One product of a recipe card, with where to find it in this store."""

    product_id: str
    name: str = ""
    aisle_id: str = ""
    location_hint: str = ""
    price_micros: int = 0


@dataclass(frozen=True, slots=True)
class Creative:
    """What the cart renders for one ad."""

    creative_id: str
    format: int = 0
    headline: str = ""
    body: str = ""
    image_url: str = ""
    promoted_product_id: str = ""
    call_to_action: str = ""
    location_hint: str = ""
    price_micros: int = 0
    offer_text: str = ""
    coupon_code: str = ""
    # The image's content hash; image_url is where this edge serves it (edge_node/assets/http.py).
    image_asset_sha256: str = ""
    recipe_items: tuple[RecipeItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Product:
    """Where a product is in the store and who makes it."""

    product_id: str
    name: str = ""
    aisle_id: str = ""
    department_id: str = ""
    brand: str = ""
    zone_id: str = ""
    aisle_name: str = ""
    price_micros: int = 0


_K = TypeVar("_K")
_V = TypeVar("_V")


def _frozen(items: Mapping[_K, _V]) -> Mapping[_K, _V]:
    return MappingProxyType(dict(items))


class SharedParts:
    """Values that every ranking of one version shares, made once by ``edge_node.index.tables``.

    Trigger views and experiment variants are copies of the version's view made with
    ``dataclasses.replace``, which hands them this same object: their rankings differ, but what
    follows from the creatives alone (each line item's creatives and the products they promote, the
    protobuf creatives) is built and held once instead of once per ranking.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: object = None


@dataclass(frozen=True)
class ServingView:
    """One index version, read-only; requests hold a reference so they see a single version."""

    version: str
    store_id: str
    signing_key: bytes = b""
    token_ttl_s: int = 0
    line_items: Mapping[str, LineItem] = field(default_factory=dict)
    creatives: Mapping[str, Creative] = field(default_factory=dict)
    products: Mapping[str, Product] = field(default_factory=dict)
    # Posting key ("product:<id>", "brand:<name>", "aisle:<id>", "department:<id>", "zone:<id>", "all")
    # to the line item ids it targets.
    postings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # IANA zone for flights' dayparting; "" means UTC.
    time_zone: str = ""
    # The store's name, for the carts' screens (GetStoreInfo).
    display_name: str = ""
    reserve_cpm_micros: int = 0
    max_ads_per_trip: int = 0
    min_ad_interval_ms: int = 0
    # Running experiment layers (edge_node/index/arms.py).
    experiment_layers: tuple[Layer, ...] = ()
    # Per trigger with learned rates: this version with the line items' predicted rates on that
    # trigger, so a request of that trigger is ranked by them (see ``for_trigger``).
    trigger_views: Mapping[int, ServingView] = field(default_factory=dict)
    # Enrolled carts by credential id (edge_node/index/carts.py), and what each may ask of the edge.
    carts: Mapping[str, EnrolledCart] = field(default_factory=dict)
    cart_limits: PerCartLimits = DEFAULT_LIMITS
    # Invalid traffic: each enrolled cart's CartTrafficClass by cart id (a cart not listed is judged
    # as production) and the rules' thresholds.
    cart_traffic: Mapping[str, int] = field(default_factory=dict)
    ivt_policy: IvtPolicy = DEFAULT_POLICY
    shared: SharedParts = field(default_factory=SharedParts, compare=False, repr=False)

    def for_trigger(self, trigger: int) -> ServingView:
        """The view that ranks requests of ``trigger``: its own rates where learned, else this one."""
        return self.trigger_views.get(trigger, self)

    @cached_property
    def experiments(self) -> ExperimentTables:
        """Every arm combination's serving plan, precomputed once per version."""
        from edge_node.index.experiments import ExperimentTables  # experiments imports this module

        return ExperimentTables(self, self.experiment_layers)

    @cached_property
    def tables(self) -> ServingTables:
        """Lookups precomputed once per version so that a request does as little work as possible."""
        from edge_node.index.tables import build_tables  # tables imports this module

        return build_tables(self)

    def warmed(self) -> ServingView:
        """This view with its lookups built (its own, and each trigger view's), for a worker thread to
        call before the view is installed: built lazily, the first request after an index push
        would build them on the event loop and hold every other call back for as long."""
        for view in (self, *self.trigger_views.values()):
            _ = view.tables
            _ = view.experiments
        return self


_T = TypeVar("_T")
_NO_MEMBERS: frozenset[object] = frozenset()


def members(values: Iterable[_T]) -> frozenset[_T]:
    """``frozenset(values)``, but one shared object when empty.

    Most line items name no promoted products, triggers or dayparts: an empty frozenset per field
    is ~200 bytes, thousands of them per index in every worker process.
    """
    found = frozenset(values)
    return found if found else _NO_MEMBERS  # type: ignore[return-value]


def _unix_ms(timestamp: Timestamp) -> int:
    return timestamp.seconds * 1000 + timestamp.nanos // 1_000_000


def _line_item(pb: IndexLineItem) -> LineItem:
    # Ids that many records repeat (here a line item's campaign, advertiser, label and lease; a
    # product's aisle, department and brand) are read from protobuf as a new str each time:
    # interned, they are one object per value.
    return LineItem(
        line_item_id=pb.line_item_id,
        campaign_id=sys.intern(pb.campaign_id),
        advertiser_id=sys.intern(pb.advertiser_id),
        pricing_model=pb.pricing_model,
        bid_micros=pb.bid_micros,
        creative_ids=tuple(pb.creative_ids),
        start_unix_ms=_unix_ms(pb.start_time) if pb.HasField("start_time") else None,
        end_unix_ms=_unix_ms(pb.end_time) if pb.HasField("end_time") else None,
        frequency_cap_per_session=pb.frequency_cap_per_session,
        budget_allowance_micros=pb.budget_allowance_micros,
        predicted_ctr=pb.predicted_ctr,
        predicted_cvr=pb.predicted_cvr,
        promoted_product_ids=members(pb.promoted_product_ids),
        triggers=members(int(t) for t in pb.triggers),
        priority_tier=pb.priority_tier,
        creative_frequency_cap_per_session=pb.creative_frequency_cap_per_session,
        campaign_frequency_cap_per_session=pb.campaign_frequency_cap_per_session,
        exclusion_label=sys.intern(pb.exclusion_label),
        daypart_hours=members(pb.daypart_hours),
        daypart_weekdays=members(pb.daypart_weekdays),
        pacing_factor=pb.pacing_factor or 1.0,
        paused=pb.paused,
        campaign_paused=pb.campaign_paused,
        budget_lease_id=sys.intern(pb.budget_lease_id),
        budget_lease_expire_unix_ms=(
            _unix_ms(pb.budget_lease_expire_time) if pb.HasField("budget_lease_expire_time") else None
        ),
        pass_through_rate=pb.pass_through_rate or 1.0,
        click_through_window_s=pb.click_through_window_s,
        view_through_window_s=pb.view_through_window_s,
    )


def _product(pb: PbProduct) -> Product:
    return Product(
        product_id=pb.product_id,
        name=pb.name,
        aisle_id=sys.intern(pb.aisle_id),
        department_id=sys.intern(pb.department_id),
        brand=sys.intern(pb.brand),
        zone_id=sys.intern(pb.zone_id),
        aisle_name=sys.intern(pb.aisle_name),
        price_micros=pb.price_micros,
    )


def _location_hint(product: Product | None) -> str:
    if product is None or not product.aisle_id:
        return ""
    return f"aisle {product.aisle_id} — {product.aisle_name}" if product.aisle_name else f"aisle {product.aisle_id}"


def build_view(index: StoreIndex, asset_base_url: str = "") -> ServingView:
    """The serving view of a verified index; images get URLs under ``asset_base_url`` (the asset server)."""
    products = {p.product_id: _product(p) for p in index.products}
    creatives: dict[str, Creative] = {}
    for c in index.creatives:
        promoted = products.get(c.promoted_product_id)
        # The cart renders "where to find it" and the price from the creative alone, so fill them
        # from the store's catalog when the cloud left them empty.
        creatives[c.creative_id] = Creative(
            creative_id=c.creative_id,
            format=c.format,
            headline=c.headline,
            body=c.body,
            image_url=f"{asset_base_url}/assets/{c.image_asset_sha256}" if c.image_asset_sha256 else c.image_url,
            promoted_product_id=c.promoted_product_id,
            call_to_action=c.call_to_action,
            location_hint=c.location_hint or _location_hint(promoted),
            price_micros=c.price_micros or (promoted.price_micros if promoted else 0),
            offer_text=c.offer_text,
            coupon_code=c.coupon_code,
            image_asset_sha256=c.image_asset_sha256,
            recipe_items=tuple(
                RecipeItem(r.product_id, r.name, r.aisle_id, r.location_hint, r.price_micros) for r in c.recipe_items
            ),
        )
    postings: dict[str, tuple[str, ...]] = {}
    for posting in index.postings:
        postings[posting.key] = postings.get(posting.key, ()) + tuple(posting.line_item_ids)
    view = ServingView(
        version=index.version,
        store_id=index.store_id,
        signing_key=bytes(index.settings.signing_key),
        token_ttl_s=index.settings.token_ttl_s,
        line_items=_frozen({li.line_item_id: _line_item(li) for li in index.line_items}),
        creatives=_frozen(creatives),
        products=_frozen(products),
        postings=_frozen(postings),
        time_zone=index.settings.time_zone,
        display_name=index.settings.display_name,
        reserve_cpm_micros=index.settings.reserve_cpm_micros,
        max_ads_per_trip=index.settings.max_ads_per_trip,
        min_ad_interval_ms=index.settings.min_ad_interval_ms,
        experiment_layers=layers_from_index(index.experiment_layers),
        carts=enrolled_carts(index.carts),
        cart_limits=limits_from_pb(index.settings.cart_limits if index.settings.HasField("cart_limits") else None),
        cart_traffic=_frozen({c.cart_id: int(c.traffic_class) for c in index.carts}),
        ivt_policy=policy_from_pb(index.settings.ivt_policy if index.settings.HasField("ivt_policy") else None),
    )
    view = dataclasses.replace(view, trigger_views=_frozen(_trigger_views(view, index)))
    # Built here, off the event loop (callers run build_view in a thread), not on the first request.
    for v in (view, *view.trigger_views.values()):
        _ = v.tables
        _ = v.experiments
    return view


def _trigger_views(view: ServingView, index: StoreIndex) -> dict[int, ServingView]:
    """One view per trigger some line item has learned rates for, with those rates in place."""
    rates: dict[int, dict[str, tuple[float, float]]] = {}
    for li in index.line_items:
        for r in li.trigger_rates:
            rates.setdefault(int(r.trigger), {})[li.line_item_id] = (r.predicted_ctr, r.predicted_cvr)
    out: dict[int, ServingView] = {}
    for trigger, by_line_item in sorted(rates.items()):
        line_items = {
            lid: dataclasses.replace(li, predicted_ctr=by_line_item[lid][0], predicted_cvr=by_line_item[lid][1])
            if lid in by_line_item
            else li
            for lid, li in view.line_items.items()
        }
        out[trigger] = dataclasses.replace(view, line_items=_frozen(line_items))
    return out
