"""``cartads-demo``: the whole ad loop on this machine in one command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from cart_client.app.cli import bus_url
from cart_client.sensors.trace import dump_trace
from cartads.demo.demo import DemoConfig, run_demo, trace_for_order
from cartads.demo.summary import render_text
from cartads.ops.logs import configure_logging
from cartads.sample.instacart import load_catalog, load_orders


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cartads-demo",
        description=(
            "Start a cloud (SQLite in a temporary directory) and a store edge on loopback, load the "
            "Instacart sample store and several advertisers, replay real orders through concurrent carts, "
            "wait until their impressions and clicks are billed, and print what was reported and billed."
        ),
    )
    parser.add_argument("--carts", type=_positive, default=8, help="concurrent carts (default 8)")
    parser.add_argument("--trips", type=_positive, default=None, help="orders to replay (default 4 per cart)")
    parser.add_argument("--seed", type=int, default=7, help="random seed for orders and shopper taps")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument(
        "--print-trace",
        metavar="ORDER_ID",
        help="print the sensor trace (JSON Lines) of one Instacart order and exit, to feed cartads-cart by hand",
    )
    parser.add_argument(
        "--sensor-bus",
        type=bus_url,
        default=None,
        metavar="mqtt://HOST[:PORT][/PREFIX]",
        help="drive the carts through this MQTT sensor bus: each trip's devices publish with realistic noise,"
        " each cart subscribes (e.g. mqtt://127.0.0.1:1883)",
    )
    parser.add_argument("--log-level", default="WARNING", help="log level of the components (default WARNING)")
    return parser


def _print_trace(order_id: str, seed: int) -> int:
    order = next((o for o in load_orders() if o.order_id == order_id), None)
    if order is None:
        print(f"error: no order {order_id!r} in the Instacart sample", file=sys.stderr)
        return 2
    for line in dump_trace(trace_for_order(order, load_catalog(), seed)):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(level=args.log_level)
    if args.print_trace is not None:
        return _print_trace(args.print_trace, args.seed)
    config = DemoConfig(
        carts=args.carts, trips=args.trips or 4 * args.carts, seed=args.seed, sensor_bus=args.sensor_bus
    )
    summary = asyncio.run(run_demo(config))
    if args.json:
        print(json.dumps(summary.as_json(), sort_keys=True))
    else:
        print(render_text(summary))
    return 0 if summary.billed_matches_reported else 1


if __name__ == "__main__":
    sys.exit(main())
