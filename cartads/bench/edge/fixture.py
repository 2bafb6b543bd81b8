"""The store and the requests ``cartads-bench edge`` serves: the whole Instacart sample catalog,
5,000 line items of 200 advertisers with mixed targeting, tiers, caps, dayparting and exclusion
labels, compiled by the cloud's own compiler; and GetAds requests made from real baskets."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from cartads import cart_credential
from cartads.bench.cloud.index_fixture import IndexFixture, build_fixture
from cartads.index.version import content_version
from cartads.sample.instacart import Catalog, Order
from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cloud_core.compile.compiler import CompileSettings, compile_store_index

ADVERTISERS = 200
STORE_ID = "store-1"


def _advertiser_id(campaign_index: int) -> str:
    return f"adv-{campaign_index % ADVERTISERS:04d}"


def _edge_campaigns(fixture: IndexFixture) -> list[admin_pb2.Campaign]:
    campaigns = []
    for c, campaign in enumerate(fixture.campaigns):
        copy = admin_pb2.Campaign()
        copy.CopyFrom(campaign)
        copy.advertiser_id = _advertiser_id(c)
        copy.frequency_cap_per_session = 6 if c % 4 == 0 else 0
        campaigns.append(copy)
    return campaigns


def _edge_line_item(i: int, item: admin_pb2.LineItem, catalog: Catalog) -> admin_pb2.LineItem:
    copy = admin_pb2.LineItem()
    copy.CopyFrom(item)
    if i % 50 == 7:  # ~2% run-of-store
        copy.targeting.Clear()
    if i % 250 == 11:  # house ads fill what paid ads leave
        copy.targeting.Clear()
        copy.priority_tier = common_pb2.PRIORITY_TIER_HOUSE
    elif i % 100 == 3:  # sponsorships of a product, served first
        copy.priority_tier = common_pb2.PRIORITY_TIER_SPONSORSHIP
        copy.targeting.Clear()
        copy.targeting.product_ids.append(catalog.products[(i * 31) % len(catalog.products)].product_id)
    else:
        copy.priority_tier = common_pb2.PRIORITY_TIER_AUCTION
    copy.frequency_cap_per_session = (i % 4) + 1 if i % 3 else 0
    copy.creative_frequency_cap_per_session = 2 if i % 5 == 0 else 0
    if i % 3 == 0:
        # Competing products of one aisle never share a response.
        product = catalog.products[(i * 104729) % len(catalog.products)]
        copy.exclusion_label = f"aisle-{product.aisle_id}"
    if i % 20 == 13:
        copy.targeting.daypart_hours.extend(range(7, 22))
    if i % 40 == 17:
        copy.targeting.daypart_weekdays.extend([6, 7])
    return copy


def add_learned_rates(index: index_pb2.StoreIndex, seed: int = 7) -> None:
    """Give every line item learned click and conversion rates for each trigger, as the cloud ships
    them once it has enough events per trigger (cloud_core/delivery/predictions.py): the edge then ranks
    each trigger's requests by its own rates, one more ranking per trigger."""
    rng = random.Random(seed)
    triggers = [t for t in common_pb2.Trigger.values() if t != common_pb2.TRIGGER_UNSPECIFIED]
    for line_item in index.line_items:
        del line_item.trigger_rates[:]
        for trigger in triggers:
            line_item.trigger_rates.add(
                trigger=trigger,
                predicted_ctr=line_item.predicted_ctr * rng.uniform(0.5, 2.0),
                predicted_cvr=line_item.predicted_cvr * rng.uniform(0.5, 2.0),
            )
    # The version is the content's hash: edges reject an index whose content does not match it.
    index.version = content_version(index)


def build_edge_index(line_items: int, now: datetime, catalog: Catalog) -> index_pb2.StoreIndex:
    """The compiled index of the benchmark store at ``now``."""
    base = build_fixture(line_items, now, STORE_ID, catalog)
    items = [_edge_line_item(i, item, catalog) for i, item in enumerate(base.line_items)]
    campaigns = _edge_campaigns(base)
    by_campaign = {c.campaign_id: c.advertiser_id for c in campaigns}
    creatives = []
    creative_advertiser: dict[str, str] = {}
    for item in items:
        for creative_id in item.creative_ids:
            creative_advertiser[creative_id] = by_campaign[item.campaign_id]
    for spec in base.creatives:
        copy = admin_pb2.CreativeSpec()
        copy.CopyFrom(spec)
        copy.advertiser_id = creative_advertiser.get(spec.creative_id, spec.advertiser_id)
        creatives.append(copy)
    inp = base.compile_input()
    inp = type(inp)(
        store=inp.store,
        signing_key=inp.signing_key,
        aisles=inp.aisles,
        departments=inp.departments,
        products=inp.products,
        campaigns=campaigns,
        line_items=items,
        creatives=creatives,
        campaign_spend_micros={},
    )
    settings = CompileSettings(token_ttl_s=7200, reserve_cpm_micros=500_000)
    return compile_store_index(inp, settings, now)


def build_requests(orders: Sequence[Order], catalog: Catalog, count: int, max_ads: int) -> list[GetAdsRequest]:
    """``count`` scan requests from real baskets: the basket so far, the product just scanned, its zone."""
    zone_of_aisle = {a.aisle_id: a.zone_id or f"zone-{a.aisle_id}" for a in catalog.aisles}
    aisle_of = {p.product_id: p.aisle_id for p in catalog.products}
    usable = [o for o in orders if len(o.product_ids) >= 2]
    step = max(1, len(usable) // count)
    requests = []
    for k in range(count):
        order = usable[(k * step) % len(usable)]
        cut = 1 + (k * 7) % (len(order.product_ids) - 1)
        scanned = order.product_ids[cut]
        requests.append(
            GetAdsRequest(
                store_id=STORE_ID,
                cart_id=f"bench-cart-{k}",
                session_id=f"bench-session-{k}",
                request_id=f"bench-{k}",
                trigger=common_pb2.TRIGGER_SCAN,
                scanned_product_id=scanned,
                zone_id=zone_of_aisle.get(aisle_of.get(scanned, ""), ""),
                basket=[common_pb2.BasketLine(product_id=p, quantity=1) for p in order.product_ids[:cut]],
                max_ads=max_ads,
            )
        )
    return requests


# The benchmark drives one cart's request body at thousands of calls a second (h2load sends one body
# per phase), standing for the many carts of a store: the per-cart limits are checked on every call
# but set where they are never reached, so the run prices the checks, not the refusals.
BENCH_CART_LIMITS = index_pb2.CartLimits(
    calls_per_s=1e9, call_burst=1_000_000_000, events_per_s=1e9, event_burst=1_000_000_000
)


def enroll_bench_carts(index: index_pb2.StoreIndex, requests: Sequence[GetAdsRequest], seed: int = 7) -> None:
    """Enrol the cart of each request in ``index`` (as the cloud compiles enrolled carts) and put its
    credential in the request, so every call the benchmark makes is authenticated; re-versions ``index``."""
    rng = random.Random(seed)
    carts = {c.credential_id: c for c in index.carts}
    for request in requests:
        text, credential = cart_credential.new_credential(index.store_id, rng.randbytes)
        carts[credential.credential_id] = index_pb2.IndexCart(
            credential_id=credential.credential_id,
            cart_id=request.cart_id,
            secret_sha256=cart_credential.secret_digest(credential.secret),
        )
        request.cart_credential = text
    del index.carts[:]
    index.carts.extend(carts[k] for k in sorted(carts))
    index.settings.cart_limits.CopyFrom(BENCH_CART_LIMITS)
    index.version = content_version(index)
