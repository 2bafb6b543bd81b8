"""``cartads-sim``: write simulated shopping trips from real orders, or replay them against an edge.

cartads-sim --orders 50 --seed 7 --out trips/          # one JSON Lines trace per trip
cartads-sim --replay trips/ --edge 127.0.0.1:50061 --store store-1 --carts 8 --state-dir sim-state/
cartads-sim --replay trips/ --edge 127.0.0.1:50061 --store store-1 --sensor-bus mqtt://127.0.0.1:1883
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cart_client.app.catalog_loader import load_cart_catalog
from cart_client.app.cli import address, bus_url
from cart_client.app.credential import CredentialError, CredentialRefusedError, load_entries
from cart_client.app.runner import TripStats
from cart_client.sensors.feed import file_feed
from cart_client.sensors.trace import TraceError, dump_trace
from cart_client.sim.replay import HUMAN_DWELL_S, replay_trips
from cart_client.sim.simulator import simulate
from cartads.credential_file import CartCredentialEntry
from cartads.ops.logs import configure_logging
from cartads.reported_file import CartReported, ReportedEvents
from cartads.sample.instacart import load_catalog, load_orders


def build_parser() -> argparse.ArgumentParser:
    """The command line of cartads-sim."""
    parser = argparse.ArgumentParser(
        prog="cartads-sim",
        description=(
            "Turn real Instacart orders into smart-cart sensor traces (zones in layout order, dwell, "
            "barcode scans, scale readings with noise, camera sightings, looks at the screen), or "
            "replay a directory of traces against a store's edge node."
        ),
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="Instacart-layout data directory (default: shipped sample)"
    )
    generate = parser.add_argument_group("generate")
    generate.add_argument("--orders", type=int, default=10, help="how many trips to generate (default 10)")
    generate.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same trips")
    generate.add_argument("--out", type=Path, default=None, help="directory to write trip-<order>.jsonl files into")
    generate.add_argument(
        "--click-probability", type=float, default=0.15, help="mean chance of tapping an ad after a product"
    )
    replay = parser.add_argument_group("replay")
    replay.add_argument("--replay", type=Path, default=None, metavar="DIR", help="replay the traces in DIR")
    replay.add_argument("--edge", type=address, default=os.environ.get("CARTADS_EDGE"), metavar="HOST:PORT")
    replay.add_argument("--store", default=os.environ.get("CARTADS_STORE"))
    replay.add_argument("--carts", type=int, default=4, help="carts replaying concurrently (default 4)")
    replay.add_argument(
        "--credentials",
        type=Path,
        default=os.environ.get("CARTADS_SIM_CREDENTIALS") or None,
        metavar="DIR|FILE",
        help="enrolled carts' credential files (cartads-admin carts enroll --count N --out FILE): each "
        "simulated cart sends its own (env CARTADS_SIM_CREDENTIALS)",
    )
    replay.add_argument(
        "--reported",
        type=Path,
        default=None,
        metavar="FILE",
        help="write what each cart reported (and the edge acknowledged) here, for `cartads-admin billing reconcile"
        " --reported FILE` to compare with what the cloud billed",
    )
    replay.add_argument(
        "--sensor-bus",
        type=bus_url,
        default=os.environ.get("CARTADS_SENSOR_BUS") or None,
        metavar="mqtt://HOST[:PORT][/PREFIX]",
        help="drive the carts through the MQTT sensor bus: each trip's devices publish what its trace says, with"
        " realistic noise (raw scale stream, printed barcodes), and its cart subscribes (env CARTADS_SENSOR_BUS)",
    )
    replay.add_argument("--deadline-ms", type=float, default=50.0, help="GetAds deadline in milliseconds")
    replay.add_argument(
        "--state-dir",
        type=Path,
        default=os.environ.get("CARTADS_SIM_STATE_DIR") or None,
        metavar="DIR",
        help="keep each cart's unsent events on disk in DIR/<cart id>/, as a real cart's --state-dir does; what"
        " an edge outage left there is sent on the next replay with the same DIR (env CARTADS_SIM_STATE_DIR;"
        " default: in memory, lost when the run ends)",
    )
    replay.add_argument(
        "--drain-s",
        type=float,
        default=30.0,
        help="after its last trip, how long each cart keeps retrying to send events the edge has not taken"
        " (default %(default)s)",
    )
    replay.add_argument(
        "--dwell-ms",
        type=float,
        default=HUMAN_DWELL_S * 1000,
        help="how long each simulated shopper looks at an answer's ads before they count as viewed, in real"
        " time (default %(default)s; below 1000 the edge keeps the impressions as invalid traffic; 0: each ad"
        " drawn counts as viewed at once, for edges that judge no traffic)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"], default="WARNING")
    return parser


def _generate(args: argparse.Namespace) -> int:
    if args.orders < 0:
        print("cartads-sim: --orders must not be negative", file=sys.stderr)
        return 2
    if not 0.0 <= args.click_probability <= 1.0:
        print("cartads-sim: --click-probability must be within [0, 1]", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    trips = simulate(
        load_orders(args.data),
        load_catalog(args.data),
        count=args.orders,
        seed=args.seed,
        click_probability=args.click_probability,
    )
    for trip in trips:
        (out / trip.file_name).write_text("\n".join(dump_trace(trip.events)) + "\n", encoding="utf-8")
    events = sum(len(trip.events) for trip in trips)
    if args.json:
        print(json.dumps({"trips": len(trips), "events": events, "out": str(out)}))
    else:
        print(f"wrote {len(trips)} trips ({events} sensor events) to {out}")
    return 0


def _replay_command(args: argparse.Namespace) -> int:
    if not args.edge or not args.store:
        print("cartads-sim: --replay needs --edge and --store (or CARTADS_EDGE, CARTADS_STORE)", file=sys.stderr)
        return 2
    files = sorted(args.replay.glob("*.jsonl"))
    if not files:
        print(f"cartads-sim: no *.jsonl traces in {args.replay}", file=sys.stderr)
        return 2
    if not args.drain_s >= 0:
        print("cartads-sim: --drain-s must not be negative", file=sys.stderr)
        return 2
    credentials: list[CartCredentialEntry] = []
    if args.credentials is not None:
        try:
            credentials = [e for e in load_entries(args.credentials) if e.store_id == args.store]
        except CredentialError as exc:
            print(f"cartads-sim: {exc}", file=sys.stderr)
            return 3
        if not credentials:
            print(f"cartads-sim: {args.credentials} holds no cart of store {args.store!r}", file=sys.stderr)
            return 3
    catalog = load_cart_catalog(args.data)
    skipped: list[TraceError] = []
    trips = [(path.stem, file_feed(path, skipped.append)) for path in files]
    by_cart: dict[str, CartReported] = {}

    def heard(cart_id: str, stats: TripStats) -> None:
        one = CartReported(stats.impressions_reported, stats.clicks_reported, stats.events_reported)
        by_cart[cart_id] = by_cart.get(cart_id, CartReported()) + one

    started = datetime.now(UTC)
    try:
        results = asyncio.run(
            replay_trips(
                args.edge,
                trips,
                store_id=args.store,
                carts=args.carts,
                cart_id_prefix="sim-cart-",
                catalog=catalog,
                deadline_s=args.deadline_ms / 1000,
                dwell_s=args.dwell_ms / 1000,
                credentials=credentials,
                state_dir=args.state_dir,
                drain_s=args.drain_s,
                on_trip=heard,
                sensor_bus=args.sensor_bus,
            )
        )
    except CredentialRefusedError as exc:
        print(f"cartads-sim: {exc}", file=sys.stderr)
        return 3
    total = TripStats.total(results)
    if args.reported is not None:
        args.reported.write_text(ReportedEvents(args.store, started, by_cart).to_json(), encoding="utf-8")
    if args.json:
        print(json.dumps({"trips": len(results), "lines_skipped": len(skipped), **total.as_dict()}, sort_keys=True))
    else:
        print(_replay_summary(len(results), total))
        if args.reported is not None:
            print(
                f"wrote each cart's reported events to {args.reported};"
                f" compare them with billing: cartads-admin billing reconcile --reported {args.reported}"
            )
    if total.events_unreported:
        kept = (
            f"kept in {args.state_dir} for the next replay with --state-dir {args.state_dir}"
            if args.state_dir is not None
            else "lost with this run (give --state-dir DIR to keep them on disk until the edge takes them)"
        )
        print(f"cartads-sim: {total.events_unreported} events the edge did not take are {kept}", file=sys.stderr)
    return 1 if total.events_unreported else 0


def _replay_summary(trips: int, total: TripStats) -> str:
    return (
        f"replayed {trips} trips: {total.requests_text()}; {total.ads_served} ads served,"
        f" {total.basket_adds} basket adds, {total.mismatches} mismatches\n"
        f"reported (acknowledged by the edge): {total.plays_reported} ad plays,"
        f" {total.impressions_reported} viewable impressions, {total.clicks_reported}"
        f" clicks, {total.events_reported} events in all (with basket changes and checkouts);"
        f" {total.events_unreported} unreported"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of cartads-sim."""
    args = build_parser().parse_args(argv)
    configure_logging(level=args.log_level)
    if args.replay is not None:
        return _replay_command(args)
    if args.out is None:
        print("cartads-sim: give --out DIR to write trips, or --replay DIR to replay them", file=sys.stderr)
        return 2
    return _generate(args)


if __name__ == "__main__":
    sys.exit(main())
