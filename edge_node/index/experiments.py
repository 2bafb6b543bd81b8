"""Experiment arms for the hot path: every arm combination's plan, precomputed per index version.

A request hashes its session once per layer (``edge_node.index.arms``) and looks its plan up by the
arms' positions: whether it is held out, the ranking tables it uses (the version's own, or a copy
built once with the arms' reserve price and click-rate weight), its ads-per-trip cap, and the
prebuilt ``ArmAssignment`` messages its tracking tokens and events carry.
"""

from __future__ import annotations

import dataclasses
import itertools
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from cartads.v1.common_pb2 import ArmAssignment
from edge_node.index.arms import Arm, Layer, arm_bounds, arm_position, bucket

if TYPE_CHECKING:
    from edge_node.index.tables import ServingTables
    from edge_node.index.view import ServingView

# Combinations beyond this are planned on first use instead of at index load (the cloud caps
# layers and arms far below it).
_MAX_EAGER_PLANS = 512
# Sessions whose plan is remembered: a trip asks for ads many times, and a lookup is far cheaper
# than hashing it again per layer. Cleared when full (a new index version starts empty too).
_MAX_REMEMBERED_SESSIONS = 50_000
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ArmPlan:
    """What a trip's arms change about serving it."""

    # (layer_id, arm_id) per layer the trip is in.
    arms: tuple[tuple[str, str], ...] = ()
    holdout: bool = False
    # None: the index version's own tables.
    tables: ServingTables | None = None
    # None: the store's setting.
    max_ads_per_trip: int | None = None
    arm_pbs: tuple[ArmAssignment, ...] = ()


NO_ARMS = ArmPlan()


def _first(values: Iterable[_T | None]) -> _T | None:
    # Layers should own disjoint parameters (the cloud refuses overlaps); if two arms still set one,
    # the first layer in the index wins, deterministically.
    return next((v for v in values if v is not None), None)


def weighted_view(view: ServingView, reserve_cpm_micros: int | None, click_rate_weight: float | None) -> ServingView:
    """``view`` with an arm's reserve price and click-rate weight applied."""
    line_items = view.line_items
    if click_rate_weight is not None:
        line_items = MappingProxyType(
            {
                lid: dataclasses.replace(li, predicted_ctr=li.predicted_ctr * click_rate_weight)
                for lid, li in line_items.items()
            }
        )
    return dataclasses.replace(
        view,
        line_items=line_items,
        reserve_cpm_micros=view.reserve_cpm_micros if reserve_cpm_micros is None else reserve_cpm_micros,
    )


class ExperimentTables:
    """Plans of one index version, keyed by the arm position the session has in each layer."""

    __slots__ = ("_bounds", "_by_session", "_layers", "_plans", "_salts", "_tables", "_view", "advertised")

    def __init__(self, view: ServingView, layers: Sequence[Layer]) -> None:
        # Weak: the view holds these tables (its cached ``experiments``), and a strong reference back
        # would make every index version a cycle that only a full garbage collection frees, so the
        # edge's memory grew with each index push until one ran, and that one stalled the event loop.
        self._view = weakref.ref(view)
        self.advertised = advertised_products(view)
        self._layers = tuple(layers)
        self._salts = tuple(layer.salt for layer in self._layers)
        self._bounds = tuple(arm_bounds(layer.arms) for layer in self._layers)
        self._tables: dict[tuple[int | None, float | None], ServingTables] = {}
        self._plans: dict[tuple[int, ...], ArmPlan] = {}
        self._by_session: dict[str, ArmPlan] = {}
        combos = 1
        for layer in self._layers:
            combos *= len(layer.arms) + 1
        if self._layers and combos <= _MAX_EAGER_PLANS:
            for key in itertools.product(*(range(-1, len(layer.arms)) for layer in self._layers)):
                self._plans[key] = self._plan(key)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The version's running layers."""
        return self._layers

    def plan_for(self, session_id: str) -> ArmPlan:
        """The plan of the trip ``session_id``."""
        if not self._layers:
            return NO_ARMS
        known = self._by_session.get(session_id)
        if known is not None:
            return known
        key = tuple(
            arm_position(bucket(session_id, salt), bounds)
            for salt, bounds in zip(self._salts, self._bounds, strict=True)
        )
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(key)
        if len(self._by_session) >= _MAX_REMEMBERED_SESSIONS:
            self._by_session.clear()
        self._by_session[session_id] = plan
        return plan

    def _plan(self, key: tuple[int, ...]) -> ArmPlan:
        chosen: list[tuple[str, Arm]] = [
            (layer.layer_id, layer.arms[position])
            for layer, position in zip(self._layers, key, strict=True)
            if position >= 0
        ]
        if not chosen:
            return NO_ARMS
        arms = [arm for _, arm in chosen]
        reserve = _first(a.reserve_cpm_micros for a in arms)
        weight = _first(a.click_rate_weight for a in arms)
        max_ads = _first(a.max_ads_per_trip for a in arms)
        tables = None
        if reserve is not None or weight is not None:
            tables = self._variant(reserve, weight)
        return ArmPlan(
            arms=tuple((layer_id, arm.arm_id) for layer_id, arm in chosen),
            holdout=any(a.holdout for a in arms),
            tables=tables,
            max_ads_per_trip=max_ads,
            arm_pbs=tuple(ArmAssignment(layer_id=layer_id, arm_id=arm.arm_id) for layer_id, arm in chosen),
        )

    def _variant(self, reserve: int | None, weight: float | None) -> ServingTables:
        key = (reserve, weight)
        tables = self._tables.get(key)
        if tables is None:
            from edge_node.index.tables import build_tables  # tables imports view, which builds these

            view = self._view()
            # Only ever reached through view.experiments, so the view is alive while this runs.
            assert view is not None, "experiment tables used after their view was dropped"
            tables = self._tables[key] = build_tables(weighted_view(view, reserve, weight))
        return tables


def advertised_products(view: ServingView) -> frozenset[str]:
    """Products some line item of ``view`` promotes: basket adds of these are lift's outcome."""
    out: set[str] = set()
    for li in view.line_items.values():
        out.update(li.promoted_product_ids)
        out.update(
            c.promoted_product_id
            for cid in li.creative_ids
            if (c := view.creatives.get(cid)) is not None and c.promoted_product_id
        )
    return frozenset(out)
