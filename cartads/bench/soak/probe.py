"""The soak's deadline probe: one enrolled cart asking for ads at a steady rate with a cart's 50 ms
deadline, counting the answers that missed it and keeping every latency (thin: calls and counts)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import grpc

from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.common_pb2 import Trigger

DEADLINE_S = 0.05


@dataclass
class ProbeCounts:
    """What the probe saw: calls, deadline misses, other failures by code, latencies of the answers."""

    calls: int = 0
    deadline_misses: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)

    def percentile_ms(self, fraction: float) -> float:
        """The latency below which ``fraction`` of the answered calls fell (0 when none was)."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)


async def probe(
    channel: grpc.aio.Channel, *, store_id: str, cart_id: str, credential: str, rate_per_s: float, stop: asyncio.Event
) -> ProbeCounts:
    """Ask for ads ``rate_per_s`` times a second (each call its own trip, so no cap ends the answers)
    until ``stop`` is set; a call that does not answer within 50 ms is a deadline miss."""
    stub = AdServiceStub(channel)
    counts = ProbeCounts()
    interval_s = 1.0 / rate_per_s
    next_at = time.monotonic()
    while not stop.is_set():
        request = GetAdsRequest(
            store_id=store_id,
            cart_id=cart_id,
            cart_credential=credential,
            session_id=f"probe-{counts.calls}",
            request_id=f"probe-{counts.calls}",
            trigger=Trigger.TRIGGER_SESSION_START,
            max_ads=1,
        )
        counts.calls += 1
        started = time.perf_counter()
        try:
            await stub.GetAds(request, timeout=DEADLINE_S)
            counts.latencies_ms.append((time.perf_counter() - started) * 1000)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                counts.deadline_misses += 1
            else:
                name = error.code().name
                counts.failures[name] = counts.failures.get(name, 0) + 1
        next_at += interval_s
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.monotonic()))
        except TimeoutError:
            continue
    return counts
