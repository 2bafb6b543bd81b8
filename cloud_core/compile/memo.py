"""A bounded memo of compiled parts: least recently used first out, by entry count and by bytes. Pure.

The incremental compiler keeps what it compiled (a line item's entry, a creative's, a catalog's
products) keyed by everything the part depends on, so a recompile after a change, or the next
store of a chain with the same catalog, reuses it instead of compiling it again. Keys hold content
(bytes, small tuples of them), never row versions, so a stale part can never be returned: a part
whose inputs changed is simply under another key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class MemoSettings:
    """How much compiled work one cloud process keeps (the memo is a cache: any limit is correct)."""

    # Parts shared by every store (line item and creative entries, catalogs' product lists).
    max_part_bytes: int = 256 * 1024 * 1024
    max_parts: int = 1_000_000
    # Prepared line items (each with its rows and template) kept beyond the current ones.
    max_line_items: int = 50_000
    # Catalogs (a store's products and aisles) told apart, and their compiled product lists kept.
    max_catalogs: int = 64
    # Stores whose last compile is kept to be patched. Each holds its lists in order (~0.3 MB at 5,000
    # line items) and references to its entries: shared with the other stores whose leases and rates
    # are the same, its own otherwise (up to ~2.5 MB). A store not kept is compiled from the parts.
    max_stores: int = 256


class PartMemo(Generic[K]):
    """Bytes by key, at most ``max_entries`` of them and ``max_bytes`` of values in all."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self._max_entries = max(1, max_entries)
        self._max_bytes = max(0, max_bytes)
        self._parts: OrderedDict[K, bytes] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._parts)

    @property
    def size_bytes(self) -> int:
        """The bytes of the values held."""
        return self._bytes

    def get(self, key: K, make: Callable[[], bytes]) -> bytes:
        """The part under ``key``, made (and kept, within the limits) when not held."""
        found = self._parts.get(key)
        if found is not None:
            self._parts.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        made = make()
        self._parts[key] = made
        self._bytes += len(made)
        while len(self._parts) > self._max_entries or (self._bytes > self._max_bytes and len(self._parts) > 1):
            _, dropped = self._parts.popitem(last=False)
            self._bytes -= len(dropped)
        return made
