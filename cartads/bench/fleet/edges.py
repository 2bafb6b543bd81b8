"""One simulated edge per store, spread over worker processes and over the replicas.

Each edge is ``cartads-bench sync``'s ``SimEdge`` (it verifies every update like the real edge:
chunk checksum, delta applied, content hash and references checked, then ACKs or NACKs), here each
with its own store, its store's edge token and its replica. A worker answers the bench's commands:

- ``{"op": "versions"}``: once every edge holds an index, the version of each store;
- ``{"op": "changed", "from": {store_id: version}}``: once each listed store's edge (of this worker)
  ACKed a version other than the one given, when the last of them did (``time.monotonic``, the same
  clock in every process on Linux).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import threading
from dataclasses import dataclass
from typing import Any

from cartads.bench.cloud.sync_edges import SimEdge


@dataclass(frozen=True)
class EdgePlan:
    """One simulated edge: its store, its id, the replica it streams from, its store's edge token."""

    store_id: str
    edge_id: str
    address: str
    token: str


def _forward(commands: Any, loop: asyncio.AbstractEventLoop, pending: asyncio.Queue[dict[str, Any] | None]) -> None:
    # multiprocessing queues block; a thread hands their commands to the event loop.
    for command in iter(commands.get, None):
        loop.call_soon_threadsafe(pending.put_nowait, command)
    loop.call_soon_threadsafe(pending.put_nowait, None)


async def _until(
    edges: list[SimEdge], tasks: list[asyncio.Task[None]], changed: asyncio.Event, old: dict[str, str]
) -> None:
    """Until every edge in ``edges`` holds a version other than ``old``'s (any version when not listed)."""

    def reached(edge: SimEdge) -> bool:
        return bool(edge.version) and edge.version != old.get(edge.store_id, "")

    while not all(reached(e) for e in edges):
        ended = [t for t in tasks if t.done()]
        if ended:
            raise RuntimeError(f"an edge stream ended: {ended[0].exception()!r}")
        changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), 1.0)


def _report(edges: list[SimEdge], all_edges: list[SimEdge]) -> dict[str, Any]:
    return {
        "versions": {e.store_id: e.version for e in edges},
        "first_ack_s": min((e.ack_time_s for e in edges), default=0.0),
        "last_ack_s": max((e.ack_time_s for e in edges), default=0.0),
        "last_receive_s": max((e.receive_time_s for e in edges), default=0.0),
        "payload_bytes": max((e.payload_bytes for e in edges), default=0),
        "nacks": sum(e.nacks for e in all_edges),
        "kinds": {kind: sum(e.kinds[kind] for e in edges) for kind in ("full", "delta")},
    }


async def _worker(plans: list[EdgePlan], commands: Any, results: Any) -> None:
    changed = asyncio.Event()
    edges = [SimEdge(p.store_id, p.edge_id, changed) for p in plans]
    tasks = [asyncio.create_task(e.run(p.address, p.token)) for e, p in zip(edges, plans, strict=True)]
    pending: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    threading.Thread(target=_forward, args=(commands, asyncio.get_running_loop(), pending), daemon=True).start()
    try:
        while (command := await pending.get()) is not None:
            for edge in edges:
                edge.kinds.clear()
            if command["op"] == "versions":
                await _until(edges, tasks, changed, {})
                results.put(_report(edges, edges))
            else:
                old: dict[str, str] = command["from"]
                mine = [e for e in edges if e.store_id in old]
                await _until(mine, tasks, changed, old)
                results.put(_report(mine, edges))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_fleet_worker(plans: list[EdgePlan], commands: Any, results: Any) -> None:
    """Process entry point: these edges' streams, until a None command arrives."""
    # Hundreds of streams, each its own connection: as many descriptors as the hard limit allows.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(_worker(plans, commands, results))
    except Exception as exc:
        results.put({"error": repr(exc)})
