"""Creative review in the compiler: only approved creatives reach a store's index."""

from __future__ import annotations

from cartads.v1 import admin_pb2
from cloud_core.compile.compiler import compile_store_index
from tests.cloud_core.compile.test_compiler import SETTINGS, base_input
from tests.cloud_core.helpers import NOW, creative, line_item


def _with_status(spec: admin_pb2.CreativeSpec, status: admin_pb2.CreativeReviewStatus) -> admin_pb2.CreativeSpec:
    spec.review_status = status
    return spec


def test_pending_creative_is_left_out_with_its_line_item() -> None:
    """A line item whose only creative is pending compiles to nothing: it serves nothing."""
    pending = _with_status(creative(), admin_pb2.CREATIVE_REVIEW_STATUS_PENDING)
    index = compile_store_index(base_input(creatives=[pending]), SETTINGS, NOW)
    assert (list(index.line_items), list(index.creatives)) == ([], [])


def test_rejected_creative_is_left_out() -> None:
    """A rejected creative never reaches the index."""
    rejected = _with_status(creative(), admin_pb2.CREATIVE_REVIEW_STATUS_REJECTED)
    assert list(compile_store_index(base_input(creatives=[rejected]), SETTINGS, NOW).line_items) == []


def test_only_the_approved_creatives_of_a_line_item_are_compiled() -> None:
    """Of a line item's creatives, the approved one is served and the pending one is not."""
    pending = _with_status(creative("cr2"), admin_pb2.CREATIVE_REVIEW_STATUS_PENDING)
    inp = base_input(creatives=[creative("cr1"), pending], line_items=[line_item(creative_ids=("cr1", "cr2"))])
    index = compile_store_index(inp, SETTINGS, NOW)
    assert [c.creative_id for c in index.creatives] == ["cr1"]
    assert [list(li.creative_ids) for li in index.line_items] == [["cr1"]]
