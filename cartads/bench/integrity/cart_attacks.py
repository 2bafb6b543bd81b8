"""Attackers on the store's network, at the edge: no credential, a stolen one, a journal flood."""

import asyncio
import os
import time
import uuid

import grpc

from cartads import tracking_token
from cartads.bench.integrity.tally import AttackTally
from cartads.bench.integrity.target import (
    CALL_TIMEOUT_S,
    Target,
    call,
    cart_event,
    get_ads_request,
    made_up_credential,
    report,
)
from cartads.v1 import ad_service_pb2, ad_service_pb2_grpc, common_pb2
from cartads.v1.tracking_pb2 import TrackingTokenPayload


async def no_credential(target: Target, rounds: int = 100) -> AttackTally:
    """Ads and events with no credential, a made-up one and another store's: all refused at the door."""
    tally = AttackTally("no_credential")
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        for n in range(rounds):
            credential = ["", made_up_credential(target.store_id), made_up_credential("store-elsewhere")][n % 3]
            session_id = f"rogue-{n}"
            cart_id = f"rogue-cart-{n % 7}"
            request = get_ads_request(target, credential, session_id, cart_id)
            await call(tally, lambda request=request: stub.GetAds(request, timeout=CALL_TIMEOUT_S))  # type: ignore[misc]
            forged = tracking_token.sign(
                TrackingTokenPayload(ad_id=f"ad-{n}", store_id=target.store_id), os.urandom(32)
            )
            events = [
                cart_event(
                    common_pb2.EVENT_TYPE_IMPRESSION,
                    cart_id,
                    session_id,
                    tracking_token=forged,
                    ad_id=f"ad-{n}",
                    visible_duration_ms=2_000,
                ),
                cart_event(common_pb2.EVENT_TYPE_CLICK, cart_id, session_id, tracking_token=forged, ad_id=f"ad-{n}"),
            ]
            await report(tally, stub, target, events, credential=credential, cart_id=cart_id)
    return tally


async def stolen_credential(target: Target, sessions: int = 6, clicks_in_one_trip: int = 103) -> AttackTally:
    """Ad fraud with a real, enrolled credential: everything at machine speed, nothing a person could do."""
    tally = AttackTally("stolen_credential")
    credential = target.stolen_credential
    cart_id = target.stolen_cart_id
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        # Another cart's id, on ads and on events: the authenticated cart is the only one.
        request = get_ads_request(target, credential, "spoof", target.victim_cart_id)
        await call(tally, lambda: stub.GetAds(request, timeout=CALL_TIMEOUT_S))
        spoofed = [
            cart_event(
                common_pb2.EVENT_TYPE_BASKET_ADD,
                target.victim_cart_id,
                "spoof",
                product_id=target.product_id,
                quantity=1,
            )
        ]
        await report(tally, stub, target, spoofed, credential=credential, cart_id=target.victim_cart_id)
        ads: list[ad_service_pb2.Ad] = []
        for n in range(sessions):
            session_id = f"fraud-{uuid.uuid4().hex[:8]}-{n}"
            answer = await call(
                tally,
                lambda s=session_id: stub.GetAds(get_ads_request(target, credential, s), timeout=CALL_TIMEOUT_S),  # type: ignore[misc]
            )
            got = list(answer.ads) if isinstance(answer, ad_service_pb2.GetAdsResponse) else []
            ads.extend(got)
            events = []
            for i, ad in enumerate(got):
                if i == 0:
                    # Seen and clicked the moment it was decided, with a long visible time claimed.
                    events.append(
                        cart_event(
                            common_pb2.EVENT_TYPE_IMPRESSION,
                            cart_id,
                            session_id,
                            tracking_token=ad.tracking_token,
                            ad_id=ad.ad_id,
                            visible_duration_ms=5_000,
                        )
                    )
                # Clicked with no impression (every ad but the first), and all at once.
                events.append(
                    cart_event(
                        common_pb2.EVENT_TYPE_CLICK,
                        cart_id,
                        session_id,
                        tracking_token=ad.tracking_token,
                        ad_id=ad.ad_id,
                    )
                )
                # The promoted product into the basket: a conversion claimed from the cart's own report.
                events.append(
                    cart_event(
                        common_pb2.EVENT_TYPE_BASKET_ADD,
                        cart_id,
                        session_id,
                        product_id=ad.creative.promoted_product_id or target.product_id,
                        quantity=1,
                    )
                )
            if events:
                await report(tally, stub, target, events, credential=credential)
        # A hundred clicks in one trip on the ads it got, each a new event id.
        if ads:
            session_id = f"clicks-{uuid.uuid4().hex[:8]}"
            clicks = [
                cart_event(
                    common_pb2.EVENT_TYPE_CLICK,
                    cart_id,
                    session_id,
                    tracking_token=ads[i % len(ads)].tracking_token,
                    ad_id=ads[i % len(ads)].ad_id,
                )
                for i in range(clicks_in_one_trip)
            ]
            for start in range(0, len(clicks), 50):
                await report(tally, stub, target, clicks[start : start + 50], credential=credential)
        # As fast as it can: the cart's limits answer RESOURCE_EXHAUSTED and the others keep their ads.
        session_id = f"burst-{uuid.uuid4().hex[:8]}"
        await asyncio.gather(
            *(
                call(
                    tally,
                    lambda s=f"{session_id}-{n}": stub.GetAds(
                        get_ads_request(target, credential, s),  # type: ignore[misc]
                        timeout=CALL_TIMEOUT_S,
                    ),
                )
                for n in range(300)
            )
        )
    tally.notes["ads_obtained"] = len(ads)
    return tally


async def journal_flood(target: Target) -> AttackTally:
    """A thousand events a call from one cart for ``flood_s``: its limits stop it, not the others."""
    tally = AttackTally("journal_flood")
    deadline = time.monotonic() + target.flood_s
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)

        async def flooder(worker: int) -> None:
            n = 0
            while time.monotonic() < deadline:
                session_id = f"flood-{worker}-{n // 10}"
                # Valid events, nothing billable: a journal filled with basket adds.
                events = [
                    cart_event(
                        common_pb2.EVENT_TYPE_BASKET_ADD,
                        target.flood_cart_id,
                        session_id,
                        product_id=target.product_id,
                        quantity=1,
                    )
                    for _ in range(1_000)
                ]
                await report(tally, stub, target, events, credential=target.flood_credential)
                n += 1

        await asyncio.gather(*(flooder(w) for w in range(4)))
    return tally
