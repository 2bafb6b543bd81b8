"""The ascending union of a request's posting lists, which selection walks lazily.

``merge_unique`` is the C accelerator (``edge_node/serving/_rankmerge.c``) when it was built, else
``merge_sorted`` (``heapq.merge``): both yield the ranks in ascending order, the accelerator each
rank once, ``heapq.merge`` with duplicates adjacent (which selection skips). Decisions are the
same either way; the accelerator saves ~6 µs of a ~40 µs GetAds call (see edge_node.serving.accelerators).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import cast

from edge_node.serving import accelerators

Merge = Callable[[Sequence[tuple[int, ...]]], Iterator[int]]


def merge_sorted(lists: Sequence[tuple[int, ...]]) -> Iterator[int]:
    """Every rank of the ascending ``lists`` in ascending order, duplicates adjacent (pure Python)."""
    return heapq.merge(*lists)


_module = accelerators.load("_rankmerge")
merge_unique: Merge = cast("Merge", _module.merge_unique) if _module is not None else merge_sorted
ACCELERATED = _module is not None
