"""Choosing ads for one request: candidates, eligibility, ranking, one ad per slot.

Pure: plain values in (serving view, request, the session's frequency state, local spend, ``now``),
a decision out. No I/O, no clock, no logging, no randomness, so every rule is tested with values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from cartads.v1.common_pb2 import PricingModel
from edge_node.view import Creative, LineItem, ServingView

# CPC and CPA bids are compared with CPM bids per thousand impressions.
_PER_MILLE = 1000.0


class NoFillReason(enum.IntEnum):
    """Why a request got no ad; values equal cartads.v1.NoFillReason."""

    NONE = 0
    NO_INDEX = 1
    NO_CANDIDATES = 2
    FREQUENCY_CAPPED = 3
    NOT_ELIGIBLE = 4
    TRIP_CAP = 5
    NO_SLOTS = 6


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """A place on the cart's screen; format 0 accepts any creative format."""

    slot_id: str
    format: int = 0


@dataclass(frozen=True, slots=True)
class AdRequest:
    """The parts of a GetAds request that selection uses."""

    trigger: int = 0
    scanned_product_id: str = ""
    zone_id: str = ""
    basket_product_ids: tuple[str, ...] = ()
    slots: tuple[SlotRequest, ...] = ()
    # 0 means the edge's default; ignored when slots are given.
    max_ads: int = 0


@dataclass(frozen=True, slots=True)
class SelectedAd:
    """One ad of a decision."""

    slot_id: str
    line_item: LineItem
    creative: Creative
    price_micros: int
    ecpm_micros: float


@dataclass(frozen=True, slots=True)
class Decision:
    """The ads chosen, or why there are none."""

    ads: tuple[SelectedAd, ...]
    no_fill_reason: NoFillReason = NoFillReason.NONE


def expected_cpm_micros(line_item: LineItem) -> float:
    """Expected value of one thousand impressions, so bids of every pricing model compare."""
    if line_item.pricing_model == PricingModel.PRICING_MODEL_CPC:
        return line_item.bid_micros * line_item.predicted_ctr * _PER_MILLE
    if line_item.pricing_model == PricingModel.PRICING_MODEL_CPA:
        return line_item.bid_micros * line_item.predicted_cvr * _PER_MILLE
    return float(line_item.bid_micros)


def candidate_keys(view: ServingView, request: AdRequest) -> list[str]:
    """The posting keys this request touches, from the scanned product, zone, basket and run-of-store."""
    keys: list[str] = []
    if request.scanned_product_id:
        keys.append(f"product:{request.scanned_product_id}")
        product = view.products.get(request.scanned_product_id)
        if product is not None:
            if product.brand:
                keys.append(f"brand:{product.brand}")
            if product.aisle_id:
                keys.append(f"aisle:{product.aisle_id}")
            if product.department_id:
                keys.append(f"department:{product.department_id}")
    if request.zone_id:
        keys.append(f"zone:{request.zone_id}")
    for product_id in request.basket_product_ids:
        keys.append(f"product:{product_id}")
        product = view.products.get(product_id)
        if product is not None and product.department_id:
            keys.append(f"department:{product.department_id}")
    keys.append("all")
    return keys


def candidates(view: ServingView, request: AdRequest) -> list[LineItem]:
    """Every line item a posting of this request names, each once, in line item id order."""
    ids: set[str] = set()
    for key in candidate_keys(view, request):
        ids.update(view.postings.get(key, ()))
    return [view.line_items[i] for i in sorted(ids) if i in view.line_items]


def _in_flight(line_item: LineItem, now_unix_ms: int) -> bool:
    if line_item.start_unix_ms is not None and now_unix_ms < line_item.start_unix_ms:
        return False
    return line_item.end_unix_ms is None or now_unix_ms < line_item.end_unix_ms


def _servable_creatives(view: ServingView, line_item: LineItem, basket: frozenset[str]) -> list[Creative]:
    out = []
    for creative_id in line_item.creative_ids:
        creative = view.creatives.get(creative_id)
        if creative is not None and creative.promoted_product_id not in basket:
            out.append(creative)
    return out


def is_eligible(
    view: ServingView,
    line_item: LineItem,
    request: AdRequest,
    *,
    basket: frozenset[str],
    spend_micros: Mapping[str, int],
    now_unix_ms: int,
) -> bool:
    """Flight, trigger, budget allowance, not promoting what the cart holds, and a creative to show."""
    if not _in_flight(line_item, now_unix_ms):
        return False
    if line_item.triggers and request.trigger not in line_item.triggers:
        return False
    if spend_micros.get(line_item.line_item_id, 0) >= line_item.budget_allowance_micros:
        return False
    if line_item.promoted_product_ids & basket:
        return False
    return bool(_servable_creatives(view, line_item, basket))


def is_capped(line_item: LineItem, frequency: Mapping[str, int]) -> bool:
    """True when this cart session already saw the line item as often as its cap allows."""
    cap = line_item.frequency_cap_per_session
    return cap > 0 and frequency.get(line_item.line_item_id, 0) >= cap


def _slots(request: AdRequest, default_max_ads: int) -> tuple[SlotRequest, ...]:
    if request.slots:
        return request.slots
    count = request.max_ads or default_max_ads
    return tuple(SlotRequest(slot_id=f"slot-{i}") for i in range(count))


def select_ads(
    view: ServingView | None,
    request: AdRequest,
    *,
    frequency: Mapping[str, int],
    spend_micros: Mapping[str, int],
    now_unix_ms: int,
    default_max_ads: int = 1,
) -> Decision:
    """The ads for ``request``: highest expected CPM first, one per slot, each line item at most once.

    ``frequency`` counts ads per line item this cart session has already been served;
    ``spend_micros`` is this store's local spend per line item under the current index.
    """
    if view is None:
        return Decision((), NoFillReason.NO_INDEX)
    found = candidates(view, request)
    if not found:
        return Decision((), NoFillReason.NO_CANDIDATES)
    basket = frozenset(request.basket_product_ids)
    eligible = [
        li
        for li in found
        if is_eligible(view, li, request, basket=basket, spend_micros=spend_micros, now_unix_ms=now_unix_ms)
    ]
    if not eligible:
        return Decision((), NoFillReason.NOT_ELIGIBLE)
    uncapped = [li for li in eligible if not is_capped(li, frequency)]
    if not uncapped:
        return Decision((), NoFillReason.FREQUENCY_CAPPED)
    ranked = sorted(uncapped, key=lambda li: (-expected_cpm_micros(li), li.line_item_id))
    ads: list[SelectedAd] = []
    used: set[str] = set()
    for slot in _slots(request, default_max_ads):
        for line_item in ranked:
            if line_item.line_item_id in used:
                continue
            creative = next(
                (c for c in _servable_creatives(view, line_item, basket) if slot.format in (0, c.format)),
                None,
            )
            if creative is None:
                continue
            used.add(line_item.line_item_id)
            # First price for now: the auction comes with a later issue.
            ads.append(
                SelectedAd(slot.slot_id, line_item, creative, line_item.bid_micros, expected_cpm_micros(line_item))
            )
            break
    if not ads:
        return Decision((), NoFillReason.NO_SLOTS)
    return Decision(tuple(ads))
