"""A least-recently-used map bounded by the bytes of its values, not their count: what keeps a
replica's memory flat however many stores and versions it serves."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLru(Generic[K, V]):
    """Holds values while their sizes sum to at most ``limit_bytes``; the least recently used go first.

    A value larger than the whole limit is not kept at all (the caller still has it).
    """

    def __init__(self, limit_bytes: int) -> None:
        self._limit = max(0, limit_bytes)
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, size_bytes: int) -> None:
        self.pop(key)
        if size_bytes > self._limit:
            return
        self._items[key] = (value, size_bytes)
        self._bytes += size_bytes
        while self._bytes > self._limit:
            _, (_, size) = self._items.popitem(last=False)
            self._bytes -= size

    def pop(self, key: K) -> V | None:
        found = self._items.pop(key, None)
        if found is None:
            return None
        self._bytes -= found[1]
        return found[0]
