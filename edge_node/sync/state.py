"""What the ops endpoint reports about index sync: connected or not, and how fresh the index is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class SyncState:
    """Updated by the sync client on the event loop; read by metric callbacks at scrape time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.connected = False
        self._connected_event = asyncio.Event()
        self._started_s = clock()
        self._last_sync_s: float | None = None

    def mark_connected(self, connected: bool) -> None:
        """The index stream opened (True) or ended (False)."""
        if connected or self.connected:
            # While connected the cloud pushes every change, so the edge is current until the stream ends.
            self._last_sync_s = self._clock()
        self.connected = connected
        if connected:
            self._connected_event.set()
        else:
            self._connected_event.clear()

    async def wait_connected(self, timeout_s: float) -> None:
        """Until the index stream is open; raises TimeoutError otherwise."""
        async with asyncio.timeout(timeout_s):
            await self._connected_event.wait()

    def mark_synced(self) -> None:
        """An update was applied (or found already applied)."""
        self._last_sync_s = self._clock()

    def seconds_since_sync(self) -> float:
        """0 while connected; otherwise seconds since the stream was last up (or since start if never)."""
        if self.connected:
            return 0.0
        since = self._last_sync_s if self._last_sync_s is not None else self._started_s
        return max(0.0, self._clock() - since)
