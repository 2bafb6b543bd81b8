"""CPU cost of one GetAds call in the edge's own code, counted in instructions rather than seconds.

Wall-clock throughput on a shared 2-core machine swings with whatever else runs; an instruction
count under ``valgrind --tool=callgrind`` does not. This driver runs GetAds calls through the real
handler path of the edge (the request deserializer, the logged AdServicer.GetAds exactly as the
server registers it, the response serializer) and through the floor's (same deserializer, the fixed
response, same serializer), with the requests ``cartads-bench edge`` sends. gRPC's own transport is
not in either path: it costs both the same.

    python -m cartads.bench.edge.cost --server edge --calls 2000 [--profile]
    scripts/edge_cost.sh [CALLS]    # instructions per call of both servers, under callgrind

The measured calls run inside one ``functools.reduce`` call, so ``valgrind --tool=callgrind
--toggle-collect=functools_reduce`` counts exactly them (set-up and warm-up excluded); that is what
``scripts/edge_cost.sh`` does. Without valgrind it prints the handler's CPU time per call, and
``--profile`` prints a cProfile of the measured calls.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import grpc

from cartads.bench.edge.fixture import STORE_ID, build_edge_index, build_requests, enroll_bench_carts
from cartads.bench.edge.floor_server import FloorServicer
from cartads.ops.logs import configure_logging
from cartads.rpc.runtime import add_logged_servicer
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetAdsResponse
from cartads.v1.index_pb2 import StoreIndex
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal
from edge_node.events.pipeline import EventPipeline
from edge_node.index.holder import ViewHolder
from edge_node.index.view import build_view
from edge_node.serving.access_log import BatchedJsonLog
from edge_node.serving.local_state import SessionFrequency
from edge_node.serving.registration import add_ad_service
from edge_node.serving.servicer import AdServicer

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

_GET_ADS = "GetAds"
# A fixed start, advanced by 1 ms per call: runs are repeatable and still cross whole seconds.
_START_UNIX_S = 1_780_000_000.0


class _Context:
    """The parts of a grpc.aio ServicerContext the handlers touch on a successful call."""

    def code(self) -> grpc.StatusCode | None:
        return None

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        raise RuntimeError(f"the driver's request was rejected: {code} {details}")


class _CapturingServer:
    """Stands in for grpc.aio.Server to capture the method handlers exactly as the edge registers them."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[object]) -> None:
        """Ignored: the same handlers arrive by name."""

    def add_registered_method_handlers(self, service_name: str, handlers: dict[str, Any]) -> None:
        self.handlers.update(handlers)


@dataclass(frozen=True)
class _Path:
    """One server's GetAds path: bytes in, bytes out."""

    deserialize: Callable[[bytes], Any] | None
    handle: Callable[[Any, Any], Awaitable[Any]]
    serialize: Callable[[Any], bytes]


def _handler_path(servicer: object, log: BatchedJsonLog | None) -> _Path:
    """GetAds as registered with the request log (the edge), or bare when ``log`` is None (the floor)."""
    capture: Any = _CapturingServer()
    if log is None:
        add_ad_service(servicer, capture)
    else:
        add_logged_servicer(capture, add_ad_service, servicer, cast("FilteringBoundLogger", log))
    handler = capture.handlers[_GET_ADS]
    assert handler.response_serializer is not None
    assert handler.unary_unary is not None
    # The logged handler parses the request itself (grpc hands it the bytes): no deserializer then.
    return _Path(handler.request_deserializer, handler.unary_unary, handler.response_serializer)


def _load_index(path: Path | None, line_items: int) -> StoreIndex:
    if path is not None and path.exists():
        return StoreIndex.FromString(path.read_bytes())
    now = datetime.fromtimestamp(_START_UNIX_S, UTC)
    index = build_edge_index(line_items, now, load_catalog())
    if path is not None:
        path.write_bytes(index.SerializeToString())
    return index


def _load_bodies(index_path: Path | None, count: int, max_ads: int) -> list[bytes]:
    """The serialized requests, cached next to the index (reading the sample orders is slow under valgrind)."""
    path = index_path.with_name(f"{index_path.name}.requests-{count}-{max_ads}") if index_path is not None else None
    if path is not None and path.exists():
        return [GetAdsRequest.FromString(raw).SerializeToString() for raw in _unframe(path.read_bytes())]
    bodies = [r.SerializeToString() for r in build_requests(load_orders(), load_catalog(), count, max_ads)]
    if path is not None:
        path.write_bytes(b"".join(len(b).to_bytes(4, "big") + b for b in bodies))
    return bodies


def _unframe(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        out.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return out


def _edge_path(index: StoreIndex, data_dir: Path, clock: Callable[[], float], *, cart_auth: bool = True) -> _Path:
    config = EdgeConfig(
        store_id=STORE_ID, edge_id="cost-edge", cloud_address="127.0.0.1:9", data_dir=str(data_dir), cart_auth=cart_auth
    )
    holder = ViewHolder()
    holder.install(build_view(index, "http://127.0.0.1:50062"))
    journal = Journal.open(config)
    servicer = AdServicer(
        config=config,
        holder=holder,
        events=EventPipeline(config, journal, clock=clock),
        frequency=SessionFrequency(config.max_sessions),
        on_journaled=lambda: None,
        clock=clock,
        rng=random.Random(7),
    )
    # The request log of a JSON-logging edge (cartads-bench edge runs it so), written to /dev/null.
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return _handler_path(servicer, BatchedJsonLog(sink, clock=clock))


def _call(path: _Path, body: bytes, context: _Context) -> bytes:
    # The handlers never suspend on a valid request, so one send() runs a call to its end without
    # the event loop: only the handler path is measured.
    call = path.handle(body if path.deserialize is None else path.deserialize(body), context)
    try:
        call.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return path.serialize(done.value)
    raise RuntimeError("GetAds suspended: the driver only measures calls that run straight through")


def _drive(path: _Path, bodies: Sequence[bytes], calls: int, profile: cProfile.Profile | None) -> float:
    context = _Context()
    n = len(bodies)

    def step(_: None, i: int) -> None:
        _call(path, bodies[i % n], context)

    started = time.process_time()
    if profile is not None:
        profile.enable()
    # functools.reduce runs the calls so that callgrind can count exactly them:
    # --toggle-collect=functools_reduce (see scripts/edge_cost.sh); nothing else calls it meanwhile.
    functools.reduce(step, range(calls), None)
    if profile is not None:
        profile.disable()
    return time.process_time() - started


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cartads.bench.edge.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("edge", "floor"), default="edge")
    parser.add_argument("--calls", type=int, default=2000, help="measured calls (default 2000)")
    parser.add_argument("--warm-up", type=int, default=2000, help="calls before measuring (default 2000)")
    parser.add_argument("--bodies", type=int, default=8, help="distinct requests, as cartads-bench edge (default 8)")
    parser.add_argument("--max-ads", type=int, default=2)
    parser.add_argument("--line-items", type=int, default=5000)
    parser.add_argument("--index-file", type=Path, default=None, help="cache of the compiled index (built if missing)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured calls")
    parser.add_argument(
        "--no-cart-auth", dest="cart_auth", action="store_false", help="the edge without cart authentication"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calls; print CPU µs per call (meaningful without valgrind) and a profile if asked."""
    args = build_parser().parse_args(argv)
    configure_logging(level="INFO", json=True)
    index = _load_index(args.index_file, args.line_items)
    bodies = _load_bodies(args.index_file, args.bodies, args.max_ads)
    # Every call carries an enrolled cart's credential (the same ones each run: the enrolment is seeded).
    requests = [GetAdsRequest.FromString(body) for body in bodies]
    enroll_bench_carts(index, requests)
    bodies = [r.SerializeToString() for r in requests]
    ticks = iter(range(10**12))

    def clock() -> float:
        return _START_UNIX_S + next(ticks) / 1000

    with tempfile.TemporaryDirectory(prefix="cartads-edge-cost-") as tmp:
        edge = _edge_path(index, Path(tmp), clock, cart_auth=args.cart_auth)
        if args.server == "edge":
            path = edge
        else:
            # The floor answers what the edge answers the first request, as cartads-bench edge does.
            first = bodies[0] if edge.deserialize is None else edge.deserialize(bodies[0])
            sample = GetAdsResponse.FromString(asyncio.run(_first(edge.handle(first, _Context()))))
            path = _handler_path(FloorServicer(sample), None)
        profile = cProfile.Profile() if args.profile else None
        seconds = asyncio.run(_warm_and_drive(path, bodies, args.warm_up, args.calls, profile))
    print(f"{args.server}: {args.calls} calls, {seconds / max(1, args.calls) * 1e6:.1f} µs CPU per call")
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    return 0


async def _first(call: Awaitable[bytes]) -> bytes:
    return await call


async def _warm_and_drive(
    path: _Path, bodies: Sequence[bytes], warm_up: int, calls: int, profile: cProfile.Profile | None
) -> float:
    # Run inside an event loop, as the server does (the request log schedules its flushes on it).
    for i in range(warm_up):
        _call(path, bodies[i % len(bodies)], _Context())
    return _drive(path, bodies, calls, profile)


if __name__ == "__main__":
    sys.exit(main())
