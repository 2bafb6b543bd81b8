"""``cartads-cart``: one cart's client. Replays a sensor trace, or runs live with its touchscreen.

Sensor readings come from a trace file, standard input, a local TCP port (``--sensor-port``)
that the cart's sensor daemons write JSON Lines to, the MQTT sensor bus (``--sensor-bus``), or the
cart's serial scale and scanner (``--serial-scale``, ``--serial-scanner``). Without ``--screen`` ads are drawn as text
lines and each drawn ad counts as seen; with ``--screen HOST:PORT`` the cart serves its touchscreen
page there and only the page's viewability measurement makes an impression.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import grpc
import structlog

from cart_client.app.catalog_loader import load_cart_catalog
from cart_client.app.credential import (
    CredentialedAdService,
    CredentialError,
    CredentialRefusedError,
    choose,
    load_entries,
)
from cart_client.app.outbox import EventOutbox, MemoryOutbox, SqliteOutbox
from cart_client.app.runner import TripStats, run_trip
from cart_client.app.session import CartSession
from cart_client.bus.mqtt import BusConfig, MqttSensorFeed
from cart_client.bus.topics import CartTopics
from cart_client.devices.serial_scale import NciScale, SerialLine
from cart_client.devices.serial_scanner import SerialScanner
from cart_client.screen.server import SCREEN_SLOTS, CartScreen, ScreenConfig
from cart_client.sensors.feed import TcpSensorFeed, file_feed, merged, paced, stream_feed
from cart_client.sensors.trace import SensorEvent
from cart_client.trip.catalog import CartCatalog
from cart_client.trip.core import CartTrip
from cartads.ops.logs import configure_logging
from cartads.v1 import ad_service_pb2_grpc

_log = structlog.get_logger("cart_client.app.cli")


def _host_port(text: str, *, lowest_port: int) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not lowest_port <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return text


def address(text: str) -> str:
    """A HOST:PORT argument."""
    return _host_port(text, lowest_port=1)


def listen_address(text: str) -> str:
    """A HOST:PORT to listen on; port 0 picks a free port."""
    return _host_port(text, lowest_port=0)


async def connect(address: str, timeout_s: float = 2.0) -> grpc.aio.Channel:
    """A channel to the edge, connected up front when the edge answers within ``timeout_s``.

    The first call on a fresh channel also pays for the TCP and HTTP/2 handshakes, which alone can
    exceed a 50 ms GetAds deadline; an edge that is away is not waited for (the cart starts offline).
    """
    # An edge back after an outage is redialled within seconds (grpc's default backoff grows to
    # two minutes), so queued events go out soon after it returns.
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.max_reconnect_backoff_ms", 5_000)]
    channel = grpc.aio.insecure_channel(address, options=options)
    try:
        await asyncio.wait_for(channel.channel_ready(), timeout_s)
    except TimeoutError:
        _log.warning("edge_not_ready", edge=address, waited_s=timeout_s)
    return channel


def bus_url(text: str) -> BusConfig:
    """An mqtt://HOST[:PORT][/PREFIX] argument."""
    try:
        return BusConfig.from_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _serial_line(framing: str) -> Callable[[str], SerialLine]:
    def parse(text: str) -> SerialLine:
        try:
            return SerialLine.parse(text, framing)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def _positive_ms(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of milliseconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of cartads-cart."""
    parser = argparse.ArgumentParser(
        prog="cartads-cart",
        description=(
            "Run a smart cart against a store's edge node: fuse scanner, scale and camera readings into "
            "a basket, ask for ads at the right moments, show them (as text or on the touchscreen page) "
            "and report impressions, clicks and basket events."
        ),
    )
    edge = os.environ.get("CARTADS_EDGE")
    parser.add_argument(
        "--edge",
        type=address,
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
        default=os.environ.get("CARTADS_CART") or None,
        help="this cart's id (env CARTADS_CART; default: the credential file's cart, else random)",
    )
    parser.add_argument(
        "--credential-file",
        type=Path,
        default=os.environ.get("CARTADS_CART_CREDENTIAL_FILE") or None,
        metavar="PATH",
        help="the cart's credential, as `cartads-admin carts enroll --out PATH` wrote it; sent with every call "
        "(env CARTADS_CART_CREDENTIAL_FILE)",
    )
    parser.add_argument("--session", default=None, help="the trip's session id (default random)")
    parser.add_argument("--trace", default="-", metavar="FILE", help='the sensor trace, "-" for standard input')
    parser.add_argument(
        "--sensor-port", type=int, default=None, metavar="PORT", help="read sensors from TCP 127.0.0.1:PORT instead"
    )
    parser.add_argument(
        "--sensor-bus",
        type=bus_url,
        default=os.environ.get("CARTADS_SENSOR_BUS") or None,
        metavar="mqtt://HOST[:PORT][/PREFIX]",
        help="read sensors from the MQTT sensor bus, topics PREFIX/STORE/CART/{scanner,scale,vision,location,touch}"
        " (env CARTADS_SENSOR_BUS; see docs/SENSORS.md)",
    )
    parser.add_argument(
        "--serial-scale",
        type=_serial_line("7E1"),
        default=os.environ.get("CARTADS_SERIAL_SCALE") or None,
        metavar="PORT[,BAUD[,FRAMING]]",
        help="also read the basket's scale on this serial port, NCI protocol (default 9600,7E1;"
        " env CARTADS_SERIAL_SCALE)",
    )
    parser.add_argument(
        "--serial-scanner",
        type=_serial_line("8N1"),
        default=os.environ.get("CARTADS_SERIAL_SCANNER") or None,
        metavar="PORT[,BAUD[,FRAMING]]",
        help="also read the barcode scanner on this serial port, one symbol per line (default 9600,8N1;"
        " env CARTADS_SERIAL_SCANNER)",
    )
    parser.add_argument(
        "--screen", type=listen_address, default=None, metavar="HOST:PORT", help="serve the touchscreen page here"
    )
    parser.add_argument(
        "--store-name",
        default=os.environ.get("CARTADS_STORE_NAME", ""),
        help="with --screen, the store's name in the header (env CARTADS_STORE_NAME; default: the name the edge gives)",
    )
    parser.add_argument(
        "--speed", type=float, default=0.0, help="with --screen, replay a trace's t_ms at this speed (0: at once)"
    )
    parser.add_argument(
        "--linger-s", type=float, default=0.0, help="with --screen, keep the page up this long after the trip"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=os.environ.get("CARTADS_CART_STATE_DIR"),
        help="keep unsent events on disk here (env CARTADS_CART_STATE_DIR; default: in memory)",
    )
    parser.add_argument(
        "--catalog", type=Path, default=None, help="product catalog directory, Instacart layout (default: sample)"
    )
    parser.add_argument("--no-catalog", action="store_true", help="run without a catalog (weights are learned)")
    parser.add_argument("--deadline-ms", type=_positive_ms, default=50.0, help="GetAds deadline (default 50 ms)")
    parser.add_argument(
        "--report-deadline-ms", type=_positive_ms, default=1000.0, help="ReportEvents deadline (default 1000 ms)"
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=os.environ.get("CARTADS_LOG_LEVEL", "INFO").upper(),
        help="log level (env CARTADS_LOG_LEVEL; default INFO)",
    )
    parser.add_argument("--json", action="store_true", help="print the trip's stats as one JSON object at the end")
    return parser


async def _feed(args: argparse.Namespace, stack: AsyncExitStack) -> AsyncIterator[SensorEvent]:
    main = await _main_feed(args, stack)
    devices: list[AsyncIterator[SensorEvent]] = []
    if args.serial_scale:
        devices.append(NciScale(args.serial_scale).readings())
    if args.serial_scanner:
        devices.append(SerialScanner(args.serial_scanner).scans())
    return merged(main, *devices) if devices else main


async def _main_feed(args: argparse.Namespace, stack: AsyncExitStack) -> AsyncIterator[SensorEvent]:
    if args.sensor_bus is not None:
        bus: BusConfig = args.sensor_bus
        # Not waited for: a broker that is away is retried with backoff while the cart starts.
        feed = await stack.enter_async_context(MqttSensorFeed(CartTopics(args.store, args.cart, bus.prefix), bus))
        _log.info("sensor_bus", broker=f"{bus.host}:{bus.port}", topics=feed.topics.wildcard)
        return feed.events()
    if args.sensor_port is not None:
        tcp = await stack.enter_async_context(TcpSensorFeed(args.sensor_port))
        _log.info("sensors_listening", address=f"127.0.0.1:{tcp.port}")
        return tcp.events()
    if args.trace == "-":
        return stream_feed(sys.stdin)
    events = file_feed(Path(args.trace))
    return paced(events, args.speed) if args.screen and args.speed > 0 else events


async def _run(args: argparse.Namespace, catalog: CartCatalog | None, outbox: EventOutbox) -> TripStats:
    session_id = args.session or uuid.uuid4().hex
    async with AsyncExitStack() as stack:
        channel = await stack.enter_async_context(await connect(args.edge))
        # Always wrapped: a cart without a credential is refused, and that must stop it, not drop its events.
        stub = CredentialedAdService(ad_service_pb2_grpc.AdServiceStub(channel), args.credential or "")
        feed = await _feed(args, stack)
        if args.screen is None:
            render = (lambda line: _log.info("ad", line=line)) if args.json else print
            return await run_trip(
                stub,
                store_id=args.store,
                cart_id=args.cart,
                session_id=session_id,
                events=feed,
                render=render,
                deadline_s=args.deadline_ms / 1000,
                report_deadline_s=args.report_deadline_ms / 1000,
                catalog=catalog,
                outbox=outbox,
                viewable_wait=True,
            )
        trip = CartTrip(
            store_id=args.store,
            cart_id=args.cart,
            session_id=session_id,
            new_id=lambda: uuid.uuid4().hex,
            slots=SCREEN_SLOTS,
            catalog=catalog,
            impressions_on_render=False,
        )
        session = CartSession(
            stub,
            trip,
            outbox,
            ads_deadline_s=args.deadline_ms / 1000,
            report_deadline_s=args.report_deadline_ms / 1000,
        )
        host, _, port = args.screen.rpartition(":")
        # The header's store and aisle names come from the edge (GetStoreInfo) unless --store-name says.
        screen = CartScreen(
            session, ScreenConfig(host=host, port=int(port), store_name=args.store_name), store_info=stub
        )
        await screen.start()
        print(f"cart screen: {screen.url}", flush=True)
        try:
            await screen.run(feed)
            if args.linger_s > 0:
                await asyncio.sleep(args.linger_s)  # keeping the page up for a person to look at
            await screen.drained(timeout_s=5.0)
        finally:
            await screen.stop()
        return TripStats.of(session)


def _summary(stats: TripStats) -> str:
    return (
        f"trip done: {stats.requests_text()}; {stats.ads_served} ads served, {stats.basket_adds} basket adds,"
        f" {stats.mismatches} mismatches; {stats.plays_reported} ad plays, {stats.impressions_reported} impressions"
        f" and {stats.clicks_reported} clicks"
        f" reported, {stats.events_reported} events reported in all ({stats.report_errors} failed calls,"
        f" {stats.events_unreported} unreported)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of cartads-cart; returns the exit code (1 when events stayed unreported)."""
    args = build_parser().parse_args(argv)
    configure_logging(level=args.log_level)
    if args.sensor_bus is not None and args.sensor_port is not None:
        print("cartads-cart: give --sensor-bus or --sensor-port, not both", file=sys.stderr)
        return 2
    live = args.sensor_port is not None or args.sensor_bus is not None
    if args.trace != "-" and not live and not Path(args.trace).is_file():
        print(f"cartads-cart: cannot read trace {args.trace}: no such file", file=sys.stderr)
        return 2
    try:
        catalog = None if args.no_catalog else load_cart_catalog(args.catalog)
    except OSError as exc:
        print(f"cartads-cart: cannot read catalog {args.catalog}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    args.credential = None
    if args.credential_file is not None:
        try:
            entry = choose(load_entries(args.credential_file), args.store, args.cart)
        except CredentialError as exc:
            print(f"cartads-cart: {exc}", file=sys.stderr)
            return 3
        args.cart, args.credential = entry.cart_id, entry.credential
    args.cart = args.cart or f"cart-{uuid.uuid4().hex[:8]}"
    outbox: EventOutbox = SqliteOutbox(args.state_dir) if args.state_dir else MemoryOutbox()
    try:
        stats = asyncio.run(_run(args, catalog, outbox))
    except KeyboardInterrupt:
        return 130
    except CredentialRefusedError as exc:
        # Not a retry loop: only an operator (enrolling the cart again) can fix it; unsent events stay queued.
        print(f"cartads-cart: {exc}", file=sys.stderr)
        return 3
    finally:
        outbox.close()
    print(json.dumps(stats.as_dict(), sort_keys=True) if args.json else _summary(stats))
    return 1 if stats.events_unreported else 0


if __name__ == "__main__":
    sys.exit(main())
