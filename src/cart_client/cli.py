"""``cartads-cart``: replay one sensor trace (a file or standard input) against a store's edge."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TextIO

import grpc
import structlog

from cart_client.runner import TripStats, run_trip
from cart_client.trace import SensorEvent, TraceError, parse_trace_line
from cartads.logs import configure_logging
from cartads.v1 import ad_service_pb2_grpc

_log = structlog.get_logger("cart_client.cli")


def _address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The command line of cartads-cart."""
    parser = argparse.ArgumentParser(
        prog="cartads-cart",
        description=(
            "Replay a cart's sensor trace (JSON Lines: scan, weight, zone, touch, checkout) against a "
            "store's edge node: ask for ads, draw them as text, report impressions and clicks."
        ),
    )
    edge = os.environ.get("CARTADS_EDGE")
    parser.add_argument(
        "--edge",
        type=_address,
        default=edge,
        required=edge is None,
        metavar="HOST:PORT",
        help="the edge node's AdService address (env CARTADS_EDGE)",
    )
    store = os.environ.get("CARTADS_STORE")
    parser.add_argument(
        "--store", default=store, required=store is None, help="the store the cart is in (env CARTADS_STORE)"
    )
    parser.add_argument(
        "--cart",
        default=os.environ.get("CARTADS_CART") or f"cart-{uuid.uuid4().hex[:8]}",
        help="this cart's id (env CARTADS_CART; default random)",
    )
    parser.add_argument("--session", default=None, help="the trip's session id (default random)")
    parser.add_argument("--trace", default="-", metavar="FILE", help='the sensor trace, "-" for standard input')
    parser.add_argument("--deadline-s", type=float, default=0.5, help="deadline of each call to the edge, seconds")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=os.environ.get("CARTADS_LOG_LEVEL", "INFO").upper(),
        help="log level (env CARTADS_LOG_LEVEL; default INFO)",
    )
    parser.add_argument("--json", action="store_true", help="print the trip's stats as one JSON object at the end")
    return parser


async def _read_trace(stream: TextIO) -> AsyncIterator[SensorEvent]:
    # Lines are read in a thread so that a live feed on stdin does not stall the event loop.
    line_number = 0
    while line := await asyncio.to_thread(stream.readline):
        line_number += 1
        parsed = parse_trace_line(line, line_number)
        if isinstance(parsed, TraceError):
            _log.warning("trace_line_skipped", line=parsed.line_number, error=parsed.message)
        elif parsed is not None:
            yield parsed


async def _run(args: argparse.Namespace, stream: TextIO) -> TripStats:
    session = args.session or uuid.uuid4().hex
    render = (lambda line: _log.info("ad", line=line)) if args.json else print
    options = [("grpc.use_local_subchannel_pool", 1)]
    async with grpc.aio.insecure_channel(args.edge, options=options) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        return await run_trip(
            stub,
            store_id=args.store,
            cart_id=args.cart,
            session_id=session,
            events=_read_trace(stream),
            render=render,
            deadline_s=args.deadline_s,
        )


def _summary(stats: TripStats) -> str:
    return (
        f"trip done: {stats.ad_requests} ad requests ({stats.ad_request_errors} failed, {stats.no_fill_count} no fill),"
        f" {stats.ads_served} ads served, {stats.impressions_reported} impressions and {stats.clicks_reported} clicks"
        f" reported, {stats.events_reported} events reported ({stats.report_errors} failed calls,"
        f" {stats.events_unreported} unreported)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of cartads-cart; returns the exit code (1 when events stayed unreported)."""
    args = build_parser().parse_args(argv)
    configure_logging(level=args.log_level)
    try:
        stream = sys.stdin if args.trace == "-" else open(args.trace, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"cartads-cart: cannot read trace {args.trace}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        stats = asyncio.run(_run(args, stream))
    except KeyboardInterrupt:
        return 130
    finally:
        if stream is not sys.stdin:
            stream.close()
    print(json.dumps(stats.as_dict(), sort_keys=True) if args.json else _summary(stats))
    return 1 if stats.events_unreported else 0


if __name__ == "__main__":
    sys.exit(main())
