"""Tells index streams that a store's index may have changed: the Protocol, and its in-process form.

Several replicas share changes through the database instead (``db_notifier``: change counters,
and LISTEN/NOTIFY on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol


class ChangeSubscription(Protocol):
    async def wait(self, timeout_s: float | None = None) -> bool:
        """Until a change is signalled (True, and the signal is consumed) or the timeout passes (False)."""
        ...

    def clear(self) -> None:
        """Forget changes signalled so far (they are about to be picked up by a recompile)."""
        ...

    def close(self) -> None: ...


class ChangeNotifier(Protocol):
    def notify(self, store_ids: Iterable[str] | None = None) -> None:
        """Signal a change to the named stores, or to every store when ``None``."""
        ...

    def subscribe(self, store_id: str) -> ChangeSubscription: ...

    def generation(self, store_id: str) -> int:
        """A counter that grows with every change signalled to the store (so caches know they are stale)."""
        ...


class _Subscription:
    def __init__(self, owner: InProcessNotifier, store_id: str) -> None:
        self._owner = owner
        self.store_id = store_id
        self.event = asyncio.Event()

    async def wait(self, timeout_s: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout_s)
        except TimeoutError:
            return False
        self.event.clear()
        return True

    def clear(self) -> None:
        self.event.clear()

    def close(self) -> None:
        self._owner.unsubscribe(self)


class InProcessNotifier:
    """asyncio.Events per subscription; call only from the event loop thread."""

    def __init__(self) -> None:
        self._subs: defaultdict[str, set[_Subscription]] = defaultdict(set)
        self._all_generation = 0
        self._store_generation: defaultdict[str, int] = defaultdict(int)

    def generation(self, store_id: str) -> int:
        return self._all_generation + self._store_generation.get(store_id, 0)

    def notify(self, store_ids: Iterable[str] | None = None) -> None:
        if store_ids is None:
            self._all_generation += 1
        else:
            store_ids = set(store_ids)
            for store_id in store_ids:
                self._store_generation[store_id] += 1
        targets = self._subs.keys() if store_ids is None else store_ids
        for store_id in list(targets):
            for sub in self._subs.get(store_id, ()):
                sub.event.set()

    def subscribe(self, store_id: str) -> ChangeSubscription:
        sub = _Subscription(self, store_id)
        self._subs[store_id].add(sub)
        return sub

    def unsubscribe(self, sub: _Subscription) -> None:
        subs = self._subs.get(sub.store_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                with contextlib.suppress(KeyError):
                    del self._subs[sub.store_id]
