"""Replica heartbeats: each replica records that it is alive every ``interval_s`` and marks
disconnected the edges whose streams were on a replica silent for ``timeout_s`` (killed, frozen,
cut off from the database), so operators see them disconnected within ``timeout_s + interval_s``.

A replica whose own heartbeats stopped for longer than the timeout (a long pause, the database
away) may have had its live streams marked disconnected by another: it marks them connected again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass

import structlog

from cartads.time_units import now_us
from cloud_core.storage.protocol import ReplicaStore

log = structlog.get_logger("cloud.replicas")


@dataclass(frozen=True)
class HeartbeatSettings:
    """See CloudConfig: ``replica_heartbeat_s`` and ``replica_timeout_s``."""

    replica_id: str
    interval_s: float = 3.0
    timeout_s: float = 15.0


class Heartbeats:
    """``start()`` beats once (before serving), then every ``interval_s`` until ``stop()``."""

    def __init__(
        self,
        store: ReplicaStore,
        settings: HeartbeatSettings,
        live_edges: Callable[[], Collection[tuple[str, str]]],
        clock_us: Callable[[], int] = now_us,
    ) -> None:
        self._store = store
        self._settings = settings
        self._live_edges = live_edges
        self._clock_us = clock_us
        self._started_us = clock_us()
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        """One heartbeat, then one sweep of the silent replicas' edges."""
        now = self._clock_us()
        timeout_us = int(self._settings.timeout_s * 1e6)
        previous = await self._store.beat(self._settings.replica_id, self._started_us, now)
        if previous and now - previous >= timeout_us:
            log.warning("replica_heartbeat_gap", replica=self._settings.replica_id, gap_s=(now - previous) / 1e6)
            await self._store.reconnect(self._settings.replica_id, list(self._live_edges()))
        swept = await self._store.disconnect_silent(now, timeout_us)
        if swept:
            log.warning("edges_of_silent_replicas_disconnected", edges=swept, timeout_s=self._settings.timeout_s)

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.interval_s)
            try:
                await self.beat()
            except Exception as exc:  # the database is away: try again next time
                log.warning("replica_heartbeat_failed", error=str(exc))

    async def stop(self) -> None:
        """Stop beating and remove this replica's heartbeat (a clean stop; its streams end themselves)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await self._store.forget(self._settings.replica_id)
