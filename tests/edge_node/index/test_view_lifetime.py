"""An index version's serving view: built whole before it is installed, and freed as soon as nothing
uses it (reference counting, not a full garbage collection the edge would stall for)."""

from __future__ import annotations

import gc
import weakref

from cartads.bench.edge.fixture import add_learned_rates
from cartads.v1.index_pb2 import StoreIndex
from edge_node.index.view import build_view
from tests.edge_node.helpers import line_item, make_index


def _index_with_trigger_views() -> StoreIndex:
    index = make_index([line_item("li", 500), line_item("li-2", 400)], {"all": ["li", "li-2"]})
    add_learned_rates(index)  # one more view per trigger, each with its own lookups
    return index


def test_warmed_view_holds_its_lookups_built() -> None:
    """warmed() builds the tables and experiment plans a first request would otherwise build on the loop."""
    view = build_view(_index_with_trigger_views())
    assert view.trigger_views
    warmed = view.warmed()
    assert warmed is view
    for each in (view, *view.trigger_views.values()):
        assert {"tables", "experiments"} <= each.__dict__.keys()


def test_a_dropped_view_is_freed_by_reference_counting() -> None:
    """With the collector off, a warmed view and its trigger views go as soon as the last reference does."""
    view = build_view(_index_with_trigger_views()).warmed()
    view.experiments.plan_for("trip-1")
    refs = [weakref.ref(v) for v in (view, *view.trigger_views.values())]
    gc.disable()
    try:
        del view
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()
