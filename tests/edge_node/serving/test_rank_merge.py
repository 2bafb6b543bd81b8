"""The posting-list merge: the C accelerator against the Python merge, alone and inside selection."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_node.index.view import Creative, LineItem, ServingView
from edge_node.serving import rank_merge, selection
from edge_node.serving.eligibility import SessionCounts
from edge_node.serving.selection import AdRequest, Decision, select_ads

Merge = Callable[[Sequence[tuple[int, ...]]], Iterator[int]]
NOW_MS = 1_700_000_000_000
_PRODUCTS = ["p1", "p2", "p3", "p4"]


def _c_merge() -> Merge:
    if not rank_merge.ACCELERATED:
        pytest.skip("the C accelerator is not built here (no C compiler, or CARTADS_PURE_PYTHON is set)")
    return rank_merge.merge_unique


_SORTED_LISTS = st.lists(
    st.lists(st.integers(0, 300), max_size=40, unique=True).map(lambda xs: tuple(sorted(xs))), max_size=15
)


@settings(max_examples=300, deadline=None)
@given(_SORTED_LISTS)
def test_c_merge_yields_the_sorted_union_once_each(lists: list[tuple[int, ...]]) -> None:
    """The accelerator yields every rank of the lists in ascending order, each exactly once."""
    assert list(_c_merge()(lists)) == sorted(set(chain.from_iterable(lists)))


@settings(max_examples=300, deadline=None)
@given(_SORTED_LISTS)
def test_python_merge_yields_the_same_ranks_with_adjacent_duplicates(lists: list[tuple[int, ...]]) -> None:
    """The Python merge yields the same ascending ranks, any duplicates next to each other."""
    merged = list(rank_merge.merge_sorted(lists))
    assert merged == sorted(merged)
    assert list(dict.fromkeys(merged)) == sorted(set(chain.from_iterable(lists)))


def test_c_merge_is_lazy_and_yields_the_tuples_own_ints() -> None:
    """Taking the first ranks leaves the rest unread; the ints are the tuples' own objects."""
    big = 10**12
    first = (big, big + 5)
    ranks = list(islice(_c_merge()([first, (big + 1,)]), 2))
    assert ranks == [big, big + 1]
    assert ranks[0] is first[0]


def test_c_merge_yields_repeats_within_a_list_and_negative_ranks_once() -> None:
    """A rank repeated inside one list, or negative, is yielded once and in order; no lists yield nothing."""
    merge = _c_merge()
    assert list(merge([(-3, 1, 1, 2), (1, 2, 2, 5)])) == [-3, 1, 2, 5]
    assert list(merge([])) == []
    assert list(merge([(), ()])) == []


def test_c_merge_error_midway_releases_each_list_once() -> None:
    """An unordered list met while merging raises, exhausts the iterator and drops each list's reference once."""
    merge = _c_merge()
    first, second = (5,), (5, 3)
    before = sys.getrefcount(first), sys.getrefcount(second)
    merged = merge([first, second])
    with pytest.raises(ValueError, match="ascending"):
        next(merged)
    assert list(merged) == []
    del merged
    assert (sys.getrefcount(first), sys.getrefcount(second)) == before


def test_c_merge_rejects_ranks_outside_int64() -> None:
    """A rank beyond 64 bits is an OverflowError, never a wrong order (ranks are list positions)."""
    with pytest.raises(OverflowError):
        _c_merge()([(2**63,)])


def test_c_merge_rejects_what_is_not_a_tuple_of_ints() -> None:
    """A list, a non-int rank or a descending tuple is a clear error, not a wrong order."""
    merge = _c_merge()
    with pytest.raises(TypeError, match="expected tuples, got list"):
        merge([[1, 2]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ranks must be ints"):
        merge([("a",)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ranks must be ints"):
        merge([(1.0,)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="ascending"):
        list(merge([(3, 1)]))
    with pytest.raises(TypeError, match="sequence"):
        merge(7)  # type: ignore[arg-type]


@st.composite
def _scenarios(draw: Any) -> tuple[ServingView, AdRequest, SessionCounts]:
    ids = [f"li-{i}" for i in range(draw(st.integers(1, 14)))]
    items = [
        LineItem(
            line_item_id=i,
            campaign_id=draw(st.sampled_from(["c1", "c2"])),
            bid_micros=draw(st.integers(1, 3_000_000)),
            creative_ids=(draw(st.sampled_from(["cr-1", "cr-2", "cr-3"])),),
            frequency_cap_per_session=draw(st.integers(0, 2)),
            budget_allowance_micros=10**9,
            exclusion_label=draw(st.sampled_from(["", "soda"])),
        )
        for i in ids
    ]
    # Overlapping postings, so that a request merges several lists naming the same line items.
    keys = [*(f"product:{p}" for p in _PRODUCTS), "zone:z1", "all"]
    postings = {k: tuple(draw(st.lists(st.sampled_from(ids), max_size=len(ids), unique=True))) for k in keys}
    view = ServingView(
        version="v",
        store_id="s",
        line_items={x.line_item_id: x for x in items},
        creatives={c: Creative(c) for c in ("cr-1", "cr-2", "cr-3")},
        postings={k: v for k, v in postings.items() if v},
    )
    request = AdRequest(
        scanned_product_id=draw(st.sampled_from(["", *_PRODUCTS])),
        zone_id=draw(st.sampled_from(["", "z1"])),
        basket_product_ids=tuple(draw(st.lists(st.sampled_from(_PRODUCTS), max_size=3, unique=True))),
        max_ads=draw(st.integers(1, 4)),
    )
    session = SessionCounts(line_items=draw(st.dictionaries(st.sampled_from(ids), st.integers(0, 2))))
    return view, request, session


def _decide(scenario: tuple[ServingView, AdRequest, SessionCounts]) -> Decision:
    view, request, session = scenario
    return select_ads(view, request, session=session, now_unix_ms=NOW_MS, rng=random.Random(3))


@settings(max_examples=300, deadline=None)
@given(_scenarios())
def test_selection_decides_alike_with_either_merge(scenario: Any) -> None:
    """Selection chooses the same ads, prices and no-fill reason with the C and the Python merge."""
    decisions = []
    for merge in (rank_merge.merge_sorted, _c_merge()):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(selection, "merge_unique", merge)
            decisions.append(_decide(scenario))
    assert decisions[0] == decisions[1]
