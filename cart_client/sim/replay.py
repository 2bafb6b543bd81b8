"""Simulated trips replayed against an edge: each trip through the cart's own shell with a simulated
shopper taking its touches' chances to tap, several carts at once, each on its own connection.

Shared by ``cartads-sim --replay`` and the demo.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterable, Callable, Iterable, Sequence

from cart_client.app.cli import connect
from cart_client.app.credential import CredentialedAdService
from cart_client.app.runner import TripStats, run_trip
from cart_client.app.session import DEFAULT_ADS_DEADLINE_S, AdServiceClient
from cart_client.sensors.trace import SensorEvent
from cart_client.sim.relevance import SimulatedShopper
from cart_client.trip.catalog import CartCatalog
from cartads.credential_file import CartCredentialEntry
from cartads.v1 import ad_service_pb2_grpc

# How long a simulated shopper looks at an answer's ads before they count as viewed: a little over
# the one viewable second, so the edge's invalid-traffic rules (no impression sooner than a person
# could have seen the ad) find nothing to refuse in an honest replay.
HUMAN_DWELL_S = 1.2

# A trip to replay: its session id and its sensor events (a file feed stays unread until its turn).
TripToReplay = tuple[str, Iterable[SensorEvent] | AsyncIterable[SensorEvent]]


async def replay_trip(
    stub: AdServiceClient,
    *,
    store_id: str,
    cart_id: str,
    session_id: str,
    events: Iterable[SensorEvent] | AsyncIterable[SensorEvent],
    catalog: CartCatalog | None = None,
    deadline_s: float = DEFAULT_ADS_DEADLINE_S,
    dwell_s: float = HUMAN_DWELL_S,
) -> TripStats:
    """One simulated trip, drawn nowhere, its stats with the chances to tap its shopper had and took."""
    shopper = SimulatedShopper()
    stats = await run_trip(
        stub,
        store_id=store_id,
        cart_id=cart_id,
        session_id=session_id,
        events=events,
        render=lambda _line: None,
        deadline_s=deadline_s,
        catalog=catalog,
        taps=shopper,
        dwell_s=dwell_s,
    )
    return dataclasses.replace(stats, tap_chances=shopper.tap_chances, tap_chances_taken=shopper.tap_chances_taken)


async def replay_trips(
    edge_address: str,
    trips: Sequence[TripToReplay],
    *,
    store_id: str,
    carts: int,
    cart_id_prefix: str,
    catalog: CartCatalog | None = None,
    deadline_s: float = DEFAULT_ADS_DEADLINE_S,
    dwell_s: float = HUMAN_DWELL_S,
    credentials: Sequence[CartCredentialEntry] = (),
    on_trip: Callable[[str, TripStats], None] | None = None,
) -> list[TripStats]:
    """Every trip, shared out among ``carts`` concurrent carts (``<cart_id_prefix>000`` and on, or
    with ``credentials`` the enrolled carts, each sending its own credential; at most one cart per
    credential); the stats in the order the trips finished. ``on_trip`` hears each trip's cart and
    stats as it ends (what each cart reported, for a reconciliation)."""
    if credentials:
        carts = min(carts, len(credentials))
    queue: asyncio.Queue[TripToReplay] = asyncio.Queue()
    for trip in trips:
        queue.put_nowait(trip)
    results: list[TripStats] = []

    async def cart(number: int) -> None:
        # Each cart has its own connection, as real carts do, opened before its first trip.
        async with await connect(edge_address) as channel:
            enrolled = credentials[number] if credentials else None
            cart_id = enrolled.cart_id if enrolled is not None else f"{cart_id_prefix}{number:03d}"
            # Always wrapped: a refused credential stops the replay with the reason, not a retry loop.
            stub = CredentialedAdService(
                ad_service_pb2_grpc.AdServiceStub(channel), enrolled.credential if enrolled is not None else ""
            )
            while not queue.empty():
                session_id, events = queue.get_nowait()
                stats = await replay_trip(
                    stub,
                    store_id=store_id,
                    cart_id=cart_id,
                    session_id=session_id,
                    events=events,
                    catalog=catalog,
                    deadline_s=deadline_s,
                    dwell_s=dwell_s,
                )
                results.append(stats)
                if on_trip is not None:
                    on_trip(cart_id, stats)

    await asyncio.gather(*(cart(n) for n in range(max(1, carts))))
    return results


__all__ = ["HUMAN_DWELL_S", "TripToReplay", "replay_trip", "replay_trips"]
