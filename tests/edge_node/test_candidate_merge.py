"""Merging posting lists: the eager prefix plus the lazy tail name every rank once, in order."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from edge_node.selection import _merged

_rank_lists = st.lists(
    st.lists(st.integers(min_value=0, max_value=300), max_size=40, unique=True).map(lambda r: tuple(sorted(r))),
    min_size=2,
    max_size=12,
)


@given(_rank_lists)
def test_merge_is_the_sorted_union(lists: list[tuple[int, ...]]) -> None:
    """With adjacent duplicates dropped, the merge is the sorted union of the lists."""
    merged = [rank for rank, _ in itertools.groupby(_merged(lists))]
    assert merged == sorted(set().union(*lists))

