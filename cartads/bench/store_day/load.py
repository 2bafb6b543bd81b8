"""One store-day load process: its share of the carts, each on its own connection with its own
credential, replaying real trips at a shopper's pace, every AdService call timed (thin: calls, counts).

Run as ``python -m cartads.bench.store_day.load SPEC.json``; prints one JSON object (the tallies, its
own loop's stalls and its CPU) on stdout. The load process watches its own event loop the way the
edge does (``cartads/ops/loop_watch.py``), so a miss that happened while the load generator itself
stood still is told apart from one the edge caused (``tally.blamed_on_client``).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.cli import connect
from cart_client.app.credential import CredentialedAdService, CredentialRefusedError
from cart_client.sim.replay import replay_trip
from cart_client.sim.simulator import SimulatedTrip, simulate
from cart_client.trip.catalog import CartCatalog
from cartads.bench.soak.pace import paced
from cartads.bench.store_day.tally import CallTally
from cartads.ops.logs import configure_logging
from cartads.ops.loop_watch import StallTracker, watch_loop
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1 import ad_service_pb2
from cartads.v1.ad_service_pb2_grpc import AdServiceStub

# How often the load process checks its own loop: finer than the edge's 20 ms, as a client stall
# of 10 ms already matters to a 50 ms deadline.
_Answer = TypeVar("_Answer")
_WATCH_INTERVAL_S = 0.005
# Stalls shorter than this are the loop's ordinary jitter and are not kept.
_KEEP_STALL_MS = 2.0


@dataclass(frozen=True)
class LoadSpec:
    """What one load process does: which carts, against which edge, for how long, how fast."""

    edge_address: str
    store_id: str
    carts: list[tuple[str, str]]  # (cart id, credential)
    start_at_unix_s: float
    seconds: float
    speedup: float
    dwell_s: float
    ramp_s: float
    seed: int
    ads_deadline_s: float = 0.05

    @staticmethod
    def read(path: Path) -> LoadSpec:
        data = json.loads(path.read_text())
        data["carts"] = [(str(c), str(k)) for c, k in data["carts"]]
        return LoadSpec(**data)


@dataclass
class StallLog(StallTracker):
    """A ``StallTracker`` that also keeps when each stall happened: (start, end) monotonic seconds."""

    stalls: list[tuple[float, float]] = field(default_factory=list)
    lateness_ms: list[float] = field(default_factory=list)

    def reset(self) -> None:
        """Forget every stall so far (those of the start-up are not the run's)."""
        self.max_ms, self.samples, self.over, self.busy_max_ms, self.busy_over = 0.0, 0, None, 0.0, None
        self.stalls, self.lateness_ms = [], []

    def record(self, late_ms: float, cpu_wait_ms: float = 0.0) -> None:
        super().record(late_ms, cpu_wait_ms)
        self.lateness_ms.append(max(0.0, late_ms))
        if late_ms >= _KEEP_STALL_MS:
            now = time.monotonic()  # watch_loop's clock: record() runs the moment the loop woke
            self.stalls.append((now - late_ms / 1000, now))


class TimedAdService:
    """An AdService client that times every call into a tally per method."""

    def __init__(self, inner: CredentialedAdService, getads: CallTally, reports: CallTally) -> None:
        self._inner = inner
        self._getads = getads
        self._reports = reports

    async def GetAds(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.GetAdsRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's signature
    ) -> ad_service_pb2.GetAdsResponse:
        return await _timed(self._inner.GetAds(request, timeout=timeout), self._getads)

    async def ReportEvents(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.ReportEventsRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's signature
    ) -> ad_service_pb2.ReportEventsResponse:
        return await _timed(self._inner.ReportEvents(request, timeout=timeout), self._reports)


async def _timed(call: Awaitable[_Answer], tally: CallTally) -> _Answer:
    """``call``'s answer, its time tallied as answered or failed with the gRPC status."""
    started = time.monotonic()
    try:
        response = await call
    except grpc.aio.AioRpcError as error:
        tally.failed(error.code().name, started, time.monotonic())
        raise
    tally.answered(started, time.monotonic())
    return response


def _trips(pool: Sequence[SimulatedTrip], rng: random.Random, prefix: str) -> Iterator[tuple[str, SimulatedTrip]]:
    """Trips drawn from ``pool`` without end, each with a session id of its own."""
    n = 0
    while True:
        yield f"{prefix}-{n}", pool[rng.randrange(len(pool))]
        n += 1


@dataclass
class _Counts:
    getads: CallTally = field(default_factory=CallTally)
    reports: CallTally = field(default_factory=CallTally)
    trips_started: int = 0
    trips_finished: int = 0
    refused_carts: int = 0


async def _cart(
    spec: LoadSpec,
    cart: tuple[str, str],
    *,
    pool: Sequence[SimulatedTrip],
    catalog: CartCatalog,
    counts: _Counts,
    rng: random.Random,
) -> None:
    cart_id, credential = cart
    async with await connect(spec.edge_address) as channel:
        stub = TimedAdService(CredentialedAdService(AdServiceStub(channel), credential), counts.getads, counts.reports)
        # Carts do not all start their trips in the same instant: a store's carts are spread out.
        offset_s = rng.uniform(0, spec.ramp_s)
        await asyncio.sleep(max(0.0, spec.start_at_unix_s + offset_s - time.time()))
        for session_id, trip in _trips(pool, rng, f"{cart_id}-trip"):
            counts.trips_started += 1
            try:
                await replay_trip(
                    stub,
                    store_id=spec.store_id,
                    cart_id=cart_id,
                    session_id=session_id,
                    events=paced(trip.events, spec.speedup),
                    catalog=catalog,
                    deadline_s=spec.ads_deadline_s,
                    dwell_s=spec.dwell_s,
                )
            except CredentialRefusedError:
                counts.refused_carts += 1  # reported: an enrolled cart refused is a finding, not load
                return
            counts.trips_finished += 1


async def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Every cart of ``spec`` shopping from its start time for ``spec.seconds``; the tallies."""
    catalog_sample, orders = load_catalog(), load_orders()
    rng = random.Random(spec.seed)
    pool = simulate(orders, catalog_sample, count=max(50, 4 * len(spec.carts)), seed=spec.seed, barcodes=False)
    catalog = cart_catalog_from_sample(catalog_sample)
    counts = _Counts()
    stalls = StallLog()
    watcher = asyncio.create_task(watch_loop(stalls, interval_s=_WATCH_INTERVAL_S, log_over_ms=1e9))
    carts = [
        asyncio.create_task(
            _cart(spec, cart, pool=pool, catalog=catalog, counts=counts, rng=random.Random(rng.random()))
        )
        for cart in spec.carts
    ]
    await asyncio.sleep(max(0.0, spec.start_at_unix_s - time.time()))
    # Stalls while the carts connected and the trips were made are not the run's.
    stalls.reset()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    await asyncio.sleep(max(0.0, spec.start_at_unix_s + spec.seconds - time.time()))
    elapsed_s = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    for task in [*carts, watcher]:
        task.cancel()
    await asyncio.gather(*carts, watcher, return_exceptions=True)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    lateness = sorted(stalls.lateness_ms)
    return {
        "getads": counts.getads.as_json(),
        "reports": counts.reports.as_json(),
        "trips_started": counts.trips_started,
        "trips_finished": counts.trips_finished,
        "refused_carts": counts.refused_carts,
        "stalls": stalls.stalls,
        "loop_lag_max_ms": round(stalls.max_ms, 3),
        "loop_busy_lag_max_ms": round(stalls.busy_max_ms, 3),
        "loop_lag_p99_ms": round(lateness[int(0.99 * (len(lateness) - 1))], 3) if lateness else 0.0,
        "loop_stalls_over_10ms": sum(1 for x in lateness if x >= 10),
        "cpu_share": round(cpu_s / elapsed_s, 3) if elapsed_s > 0 else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cartads.bench.store_day.load SPEC.json", file=sys.stderr)
        return 2
    configure_logging(level="WARNING", json=True)
    spec = LoadSpec.read(Path(args[0]))
    try:
        import uvloop  # the carts' own loop costs less CPU on uvloop: the load generator is not the bottleneck
    except ImportError:
        result = asyncio.run(run_load(spec))
    else:
        result = uvloop.run(run_load(spec))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
