"""The floor of ``cartads-bench edge``: a bare grpc.aio AdService on uvloop that answers every GetAds
with one fixed, pre-serialized response and does nothing else (no validation, no log line).

It registers AdService as the edge does (``edge_node.serving.registration.add_ad_service``: GetAds may
answer serialized bytes), so the two differ only in the work the edge does per call.

    python -m cartads.bench.edge.floor_server --port P --response FILE --count-file FILE [--reuse-port]
        [--batch-scheduling] [--helper-thread-nice N]

It counts the calls it answered and writes the count to ``--count-file`` when it stops (SIGTERM),
so the benchmark verifies success on the server side (h2load counts gRPC errors as successes).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

import grpc
import uvloop

from cartads.v1.ad_service_pb2 import (
    GetAdsRequest,
    GetAdsResponse,
    GetStoreInfoRequest,
    GetStoreInfoResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)
from edge_node.app.cpu_policy import keep_helper_threads_niced, use_batch_scheduling
from edge_node.serving.registration import add_ad_service


class FloorServicer:
    """Returns the same response to every call."""

    def __init__(self, response: GetAdsResponse) -> None:
        self.response = response.SerializeToString()
        self.calls = 0

    async def GetAds(self, request: GetAdsRequest, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:  # noqa: N802
        """The fixed response, serialized once."""
        self.calls += 1
        return self.response

    async def ReportEvents(  # noqa: N802
        self, request: ReportEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ReportEventsResponse:
        """Not part of the floor: answered empty."""
        return ReportEventsResponse()

    async def GetStoreInfo(  # noqa: N802
        self, request: GetStoreInfoRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> GetStoreInfoResponse:
        """Not part of the floor: UNIMPLEMENTED."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "the benchmark floor serves GetAds only")


async def _serve(port: int, response: GetAdsResponse, reuse_port: bool, helper_thread_nice: int) -> int:
    # Like the edge: the port is shared only when several floor processes serve it.
    server = grpc.aio.server(options=[("grpc.so_reuseport", 1 if reuse_port else 0)])
    servicer = FloorServicer(response)
    add_ad_service(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    # As cartads-edge does (edge_node/app/cpu_policy.py).
    helpers = keep_helper_threads_niced(helper_thread_nice) if helper_thread_nice > 0 else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"floor serving on port {bound}", flush=True)
    await stop.wait()
    if helpers is not None:
        helpers.cancel()
    await server.stop(0.5)
    return servicer.calls


def main() -> None:
    """Entry point: serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--response", type=Path, required=True, help="a serialized GetAdsResponse")
    parser.add_argument("--count-file", type=Path, required=True)
    parser.add_argument("--reuse-port", action="store_true", help="share the port with other floor processes")
    parser.add_argument(
        "--batch-scheduling", action="store_true", help="serve under SCHED_BATCH, as the edge does by default"
    )
    parser.add_argument(
        "--helper-thread-nice", type=int, default=0, help="nice gRPC's helper threads, as cartads-edge does"
    )
    args = parser.parse_args()
    if args.batch_scheduling and not use_batch_scheduling():
        parser.error("SCHED_BATCH is not available on this platform")
    response = GetAdsResponse.FromString(args.response.read_bytes())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        calls = runner.run(_serve(args.port, response, args.reuse_port, args.helper_thread_nice))
    args.count_file.write_text(str(calls))


if __name__ == "__main__":
    main()
