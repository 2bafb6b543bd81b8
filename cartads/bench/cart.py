"""``cartads-bench cart``: what the cart itself costs per sensor reading and per queued event.

Simulated trips (``cart_client.sim.simulator``) are replayed through the pure cart core with no edge: the
baseline is parsing the JSON Lines alone, the measurement parsing plus basket fusion, timers and the
trip core. The outbox is measured against its in-memory twin: an on-disk append with full
durability per sensor step is what an offline cart pays to lose nothing. The sensor bus's costs (per
bus message, per raw scale reading, and with ``--sensor-bus`` through a real broker) are in
``cart_bus``. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.cli import bus_url
from cart_client.app.outbox import EventOutbox, MemoryOutbox, SqliteOutbox
from cart_client.sensors.trace import TraceError, dump_trace, parse_trace_lines
from cart_client.sim.simulator import simulate
from cart_client.trip.core import CartTrip
from cartads.bench import cart_bus
from cartads.bench.timing import median_s
from cartads.ops.logs import configure_logging
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1 import common_pb2

DESCRIPTION = "cart core cost per sensor reading (vs parsing alone) and outbox append cost (disk vs memory)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options."""
    parser.add_argument("--trips", type=int, default=300, help="simulated trips to replay (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per measurement; the median is reported")
    parser.add_argument("--appends", type=int, default=500, help="outbox appends per round (default 500)")
    parser.add_argument(
        "--sensor-bus",
        type=bus_url,
        default=None,
        metavar="mqtt://HOST[:PORT]",
        help="also time messages through this MQTT broker (published at QoS 1, received by a subscribed cart)",
    )
    parser.add_argument("--broker-trips", type=int, default=5, help="trips to push through the broker (default 5)")


def _core(args: argparse.Namespace) -> dict[str, float]:
    sample = load_catalog()
    catalog = cart_catalog_from_sample(sample)
    trips = simulate(load_orders(), sample, count=args.trips, seed=args.seed)
    lines = [list(dump_trace(trip.events)) for trip in trips]
    readings = sum(len(trip_lines) for trip_lines in lines)

    def parse_only() -> None:
        for trip_lines in lines:
            list(parse_trace_lines(trip_lines))

    def parse_and_core() -> None:
        ids = itertools.count()
        for trip_lines in lines:
            trip = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: str(next(ids)), catalog=catalog)
            for event in parse_trace_lines(trip_lines):
                if isinstance(event, TraceError):
                    continue
                t_ms = event.t_ms or 0
                while (deadline := trip.next_deadline_ms()) is not None and deadline <= t_ms:
                    trip.advance(deadline)
                trip.feed(event, t_ms)

    base_us = median_s(args.rounds, parse_only) / readings * 1e6
    core_us = median_s(args.rounds, parse_and_core) / readings * 1e6
    return {
        "readings": readings,
        "parse_us_per_reading": round(base_us, 2),
        "core_us_per_reading": round(core_us, 2),
        "core_over_parse": round(core_us / base_us, 2),
    }


def _outbox(args: argparse.Namespace) -> dict[str, float]:
    batch = [
        common_pb2.CartEvent(event_id=f"e{n}", type=common_pb2.EVENT_TYPE_IMPRESSION, tracking_token="x" * 120)
        for n in range(3)
    ]

    def appends(make: Callable[[], EventOutbox]) -> Callable[[], None]:
        def work() -> None:
            outbox = make()
            for n in range(args.appends):
                outbox.append([common_pb2.CartEvent(event_id=f"{n}-{e.event_id}") for e in batch])
            outbox.close()

        return work

    with tempfile.TemporaryDirectory(prefix="cartads-bench-cart-") as tmp:
        dirs = itertools.count()
        memory_us = median_s(args.rounds, appends(MemoryOutbox)) / args.appends * 1e6
        disk_us = median_s(args.rounds, appends(lambda: SqliteOutbox(Path(tmp) / str(next(dirs))))) / args.appends * 1e6
    return {
        "memory_append_us": round(memory_us, 2),
        "sqlite_append_us": round(disk_us, 2),
        "sqlite_over_memory": round(disk_us / memory_us, 1),
    }


def run(args: argparse.Namespace) -> int:
    """Measure and print."""
    # The bus's connection logs go to stderr, below the numbers' notice (stdout may be --json).
    configure_logging(level="WARNING")
    results = {"core": _core(args), "outbox": _outbox(args), "bus": cart_bus.measure(args)}
    if args.json:
        print(json.dumps(results, sort_keys=True))
        return 0
    core, outbox, bus = results["core"], results["outbox"], results["bus"]
    print(f"cart core, {core['readings']:.0f} sensor readings from {args.trips} simulated trips:")
    print(f"  parse only (baseline)       {core['parse_us_per_reading']:8.2f} us/reading")
    print(f"  parse + fusion + trip core  {core['core_us_per_reading']:8.2f} us/reading  ({core['core_over_parse']}x)")
    print(f"outbox append (3 events per sensor step), {args.appends} appends:")
    print(f"  memory (baseline)           {outbox['memory_append_us']:8.2f} us/append")
    print(
        f"  sqlite, synchronous=FULL    {outbox['sqlite_append_us']:8.2f} us/append  ({outbox['sqlite_over_memory']}x)"
    )
    print(f"sensor bus, {bus['bus_messages']:.0f} messages ({bus['raw_scale_readings']:.0f} raw scale readings):")
    print(f"  decode payload              {bus['bus_decode_us_per_message']:8.2f} us/message")
    print(f"  decode + trip core          {bus['bus_core_us_per_message']:8.2f} us/message")
    print(f"  trip core, raw reading      {bus['core_us_per_raw_scale_reading']:8.2f} us/reading")
    if "broker_us_per_message" in bus:
        print(f"  through the broker (QoS 1)  {bus['broker_us_per_message']:8.1f} us/message")
    return 0
