"""The rogue devices of the integrity bench: each sends what an attacker on a store's network would,
and tallies how the servers answered. Every event they send is invalid traffic or out of terms, so
none of it may be billed.

- ``no_credential``: a laptop on the store's Wi-Fi, with no cart credential or a made-up one.
- ``stolen_credential``: a device holding an enrolled cart's credential, committing ad fraud at machine
  speed: impressions and clicks the moment an ad is decided, clicks on ads never seen, a hundred clicks
  a trip, basket adds of promoted products to claim conversions, another cart's id, and a flood.
- ``edge_forger``: whoever holds an edge's API token and its disk (its signing key), uploading forged
  charges straight to the cloud: an unknown key, a 900 USD click on a cheap bid, a line item or an
  index version the cloud never issued, another advertiser's creative.
- ``poison``: values beyond every bound, at the edge and straight to the cloud.
- ``journal_flood``: a cart reporting a thousand events a call, as fast as it can.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import grpc

from cartads import tracking_token
from cartads.bench.integrity.tally import AttackTally
from cartads.rpc.bearer import aio_channel
from cartads.time_units import us_to_ts
from cartads.v1 import ad_service_pb2, ad_service_pb2_grpc, common_pb2, event_ingest_pb2, event_ingest_pb2_grpc
from cartads.v1.tracking_pb2 import TrackingTokenPayload

_CALL_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Terms:
    """A real line item as the edge's index shows it (what an attacker with the edge's disk reads)."""

    line_item_id: str
    campaign_id: str
    advertiser_id: str
    creative_id: str
    pricing_model: int
    bid_micros: int


@dataclass(frozen=True)
class Target:
    """Everything the attackers know or stole; passed to each attacker process as JSON."""

    edge_address: str
    cloud_address: str
    store_id: str
    edge_id: str
    # A product whose scan gets ads, so that the fraud works on real decisions.
    product_id: str
    # An enrolled cart's credential, stolen, and the id of another cart to impersonate.
    stolen_credential: str
    stolen_cart_id: str
    victim_cart_id: str
    # The credentials of carts the attacker enrolled or stole for poison and for the flood.
    poison_credential: str
    flood_credential: str
    # A leaked edge API token, the edge's signing key read from its disk, and what its index holds.
    edge_token: str
    edge_key_id: str
    edge_key_hex: str
    index_version: str
    terms: Terms
    # A creative of another advertiser (for a token that names it on this line item).
    foreign_creative_id: str
    # How long the flood lasts.
    flood_s: float = 5.0


def _raw(data: bytes) -> bytes:
    return data


def _now_ms() -> int:
    return int(time.time() * 1000)


def _event(
    kind: common_pb2.EventType,
    cart_id: str,
    session_id: str,
    *,
    tracking_token: str = "",
    ad_id: str = "",
    product_id: str = "",
    quantity: int = 0,
    visible_duration_ms: int = 0,
    unit_price_micros: int = 0,
) -> common_pb2.CartEvent:
    event = common_pb2.CartEvent(
        event_id=uuid.uuid4().hex,
        type=kind,
        cart_id=cart_id,
        session_id=session_id,
        tracking_token=tracking_token,
        ad_id=ad_id,
        product_id=product_id,
        quantity=quantity,
        visible_duration_ms=visible_duration_ms,
        unit_price_micros=unit_price_micros,
    )
    event.occur_time.CopyFrom(us_to_ts(_now_ms() * 1000))
    return event


async def _call(tally: AttackTally, call: Callable[[], Any]) -> object | None:
    """One call; a refusal is tallied by its code, an answer returned."""
    tally.calls += 1
    try:
        answer: object = await call()
        return answer
    except grpc.aio.AioRpcError as exc:
        tally.refuse(exc.code())
        tally.notes.setdefault(f"details_{exc.code().name}", (exc.details() or "")[:200])
        return None


async def _report(
    tally: AttackTally,
    stub: ad_service_pb2_grpc.AdServiceStub,
    target: Target,
    events: list[common_pb2.CartEvent],
    *,
    credential: str,
    cart_id: str = "",
) -> None:
    tally.events_sent += len(events)
    request = ad_service_pb2.ReportEventsRequest(
        store_id=target.store_id, cart_id=cart_id, events=events, cart_credential=credential
    )
    request.send_time.CopyFrom(us_to_ts(_now_ms() * 1000))
    answer = await _call(tally, lambda: stub.ReportEvents(request, timeout=_CALL_TIMEOUT_S))
    if isinstance(answer, ad_service_pb2.ReportEventsResponse):
        tally.events_accepted += answer.accepted_count


def _get_ads_request(
    target: Target, credential: str, session_id: str, cart_id: str = ""
) -> ad_service_pb2.GetAdsRequest:
    return ad_service_pb2.GetAdsRequest(
        store_id=target.store_id,
        cart_id=cart_id,
        session_id=session_id,
        request_id=uuid.uuid4().hex,
        trigger=common_pb2.TRIGGER_SCAN,
        scanned_product_id=target.product_id,
        max_ads=2,
        cart_credential=credential,
    )


def _made_up_credential(store_id: str) -> str:
    secret = secrets.token_urlsafe(32)[:43]
    return f"v1:{store_id}:{secrets.token_hex(12)}:{secret}"


async def no_credential(target: Target, rounds: int = 100) -> AttackTally:
    """Ads and events with no credential, a made-up one and another store's: all refused at the door."""
    tally = AttackTally("no_credential")
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        for n in range(rounds):
            credential = ["", _made_up_credential(target.store_id), _made_up_credential("store-elsewhere")][n % 3]
            session_id = f"rogue-{n}"
            cart_id = f"rogue-cart-{n % 7}"
            request = _get_ads_request(target, credential, session_id, cart_id)
            await _call(tally, lambda request=request: stub.GetAds(request, timeout=_CALL_TIMEOUT_S))  # type: ignore[misc]
            forged = tracking_token.sign(
                TrackingTokenPayload(ad_id=f"ad-{n}", store_id=target.store_id), os.urandom(32)
            )
            events = [
                _event(
                    common_pb2.EVENT_TYPE_IMPRESSION,
                    cart_id,
                    session_id,
                    tracking_token=forged,
                    ad_id=f"ad-{n}",
                    visible_duration_ms=2_000,
                ),
                _event(common_pb2.EVENT_TYPE_CLICK, cart_id, session_id, tracking_token=forged, ad_id=f"ad-{n}"),
            ]
            await _report(tally, stub, target, events, credential=credential, cart_id=cart_id)
    return tally


async def stolen_credential(target: Target, sessions: int = 6, clicks_in_one_trip: int = 103) -> AttackTally:
    """Ad fraud with a real, enrolled credential: everything at machine speed, nothing a person could do."""
    tally = AttackTally("stolen_credential")
    credential = target.stolen_credential
    cart_id = target.stolen_cart_id
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        # Another cart's id, on ads and on events: the authenticated cart is the only one.
        request = _get_ads_request(target, credential, "spoof", target.victim_cart_id)
        await _call(tally, lambda: stub.GetAds(request, timeout=_CALL_TIMEOUT_S))
        spoofed = [
            _event(
                common_pb2.EVENT_TYPE_BASKET_ADD,
                target.victim_cart_id,
                "spoof",
                product_id=target.product_id,
                quantity=1,
            )
        ]
        await _report(tally, stub, target, spoofed, credential=credential, cart_id=target.victim_cart_id)
        ads: list[ad_service_pb2.Ad] = []
        for n in range(sessions):
            session_id = f"fraud-{uuid.uuid4().hex[:8]}-{n}"
            answer = await _call(
                tally,
                lambda s=session_id: stub.GetAds(_get_ads_request(target, credential, s), timeout=_CALL_TIMEOUT_S),  # type: ignore[misc]
            )
            got = list(answer.ads) if isinstance(answer, ad_service_pb2.GetAdsResponse) else []
            ads.extend(got)
            events = []
            for i, ad in enumerate(got):
                if i == 0:
                    # Seen and clicked the moment it was decided, with a long visible time claimed.
                    events.append(
                        _event(
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
                    _event(
                        common_pb2.EVENT_TYPE_CLICK,
                        cart_id,
                        session_id,
                        tracking_token=ad.tracking_token,
                        ad_id=ad.ad_id,
                    )
                )
                # The promoted product into the basket: a conversion claimed from the cart's own report.
                events.append(
                    _event(
                        common_pb2.EVENT_TYPE_BASKET_ADD,
                        cart_id,
                        session_id,
                        product_id=ad.creative.promoted_product_id or target.product_id,
                        quantity=1,
                    )
                )
            if events:
                await _report(tally, stub, target, events, credential=credential)
        # A hundred clicks in one trip on the ads it got, each a new event id.
        if ads:
            session_id = f"clicks-{uuid.uuid4().hex[:8]}"
            clicks = [
                _event(
                    common_pb2.EVENT_TYPE_CLICK,
                    cart_id,
                    session_id,
                    tracking_token=ads[i % len(ads)].tracking_token,
                    ad_id=ads[i % len(ads)].ad_id,
                )
                for i in range(clicks_in_one_trip)
            ]
            for start in range(0, len(clicks), 50):
                await _report(tally, stub, target, clicks[start : start + 50], credential=credential)
        # As fast as it can: the cart's limits answer RESOURCE_EXHAUSTED and the others keep their ads.
        session_id = f"burst-{uuid.uuid4().hex[:8]}"
        await asyncio.gather(
            *(
                _call(
                    tally,
                    lambda s=f"{session_id}-{n}": stub.GetAds(
                        _get_ads_request(target, credential, s),  # type: ignore[misc]
                        timeout=_CALL_TIMEOUT_S,
                    ),
                )
                for n in range(300)
            )
        )
    tally.notes["ads_obtained"] = len(ads)
    return tally


def _forged_token(target: Target, key_id: str, key: bytes, **changes: object) -> tuple[str, TrackingTokenPayload]:
    terms = target.terms
    payload = TrackingTokenPayload(
        ad_id=f"forged-{uuid.uuid4().hex}",
        store_id=target.store_id,
        cart_id=target.stolen_cart_id,
        session_id=f"forged-{uuid.uuid4().hex[:8]}",
        campaign_id=terms.campaign_id,
        line_item_id=terms.line_item_id,
        creative_id=terms.creative_id,
        pricing_model=terms.pricing_model,  # type: ignore[arg-type]
        price_micros=terms.bid_micros,
        issue_time_unix_ms=_now_ms() - 5_000,
        index_version=target.index_version,
        advertiser_id=terms.advertiser_id,
        signing_key_id=key_id,
    )
    for name, value in changes.items():
        setattr(payload, name, value)
    return tracking_token.sign(payload, key), payload


def _forged_events(target: Target, seq_base: int) -> list[event_ingest_pb2.JournaledEvent]:
    """Impression-and-click pairs under tokens the cloud never issued the terms of."""
    real_key = bytes.fromhex(target.edge_key_hex)
    price = 900 * 1_000_000 if target.terms.pricing_model == common_pb2.PRICING_MODEL_CPC else 900 * 1_000_000_000
    variants: list[tuple[str, bytes, dict[str, object]]] = [
        (secrets.token_hex(8), os.urandom(32), {}),  # a key the cloud never registered
        (target.edge_key_id, real_key, {"price_micros": price}),  # 900 USD on a cheap bid
        (target.edge_key_id, real_key, {"line_item_id": "li-never-issued"}),
        (target.edge_key_id, real_key, {"index_version": "f" * 64}),
        (target.edge_key_id, real_key, {"creative_id": target.foreign_creative_id}),
        (target.edge_key_id, real_key, {"advertiser_id": "adv-someone-else", "campaign_id": "cmp-someone-else"}),
    ]
    out: list[event_ingest_pb2.JournaledEvent] = []
    now_us = _now_ms() * 1000
    for key_id, key, changes in variants:
        token, payload = _forged_token(target, key_id, key, **changes)
        for kind in (common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK):
            event = _event(
                kind,
                payload.cart_id,
                payload.session_id,
                tracking_token=token,
                ad_id=payload.ad_id,
                visible_duration_ms=2_000 if kind == common_pb2.EVENT_TYPE_IMPRESSION else 0,
            )
            event.occur_time.CopyFrom(us_to_ts(now_us - 2_000_000))
            journaled = event_ingest_pb2.JournaledEvent(seq=seq_base + len(out), event=event)
            journaled.receive_time.CopyFrom(us_to_ts(now_us - 1_000_000))
            out.append(journaled)
    return out


async def _upload(tally: AttackTally, target: Target, events: list[event_ingest_pb2.JournaledEvent]) -> None:
    tally.events_sent += len(events)
    async with aio_channel(target.cloud_address, target.edge_token) as channel:
        stub = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        request = event_ingest_pb2.UploadEventsRequest(store_id=target.store_id, edge_id=target.edge_id, events=events)
        answer = await _call(tally, lambda: stub.UploadEvents(request, timeout=_CALL_TIMEOUT_S))
        if isinstance(answer, event_ingest_pb2.UploadEventsResponse):
            tally.events_accepted += answer.recorded_count
            tally.notes["billed_count"] = tally.notes.get("billed_count", 0) + answer.billed_count


async def edge_forger(target: Target, rounds: int = 5) -> AttackTally:
    """Forged charges uploaded with a leaked edge token and the edge's own key: none may stand."""
    tally = AttackTally("edge_forger")
    for n in range(rounds):
        await _upload(tally, target, _forged_events(target, seq_base=2**40 + n * 1_000))
    return tally


async def poison(target: Target) -> AttackTally:
    """Values past every bound, through the edge and straight to the cloud; each refused with its field."""
    tally = AttackTally("poison")
    credential = target.poison_credential
    session_id = f"poison-{uuid.uuid4().hex[:8]}"
    too_late = _event(common_pb2.EVENT_TYPE_BASKET_ADD, "", session_id, product_id=target.product_id, quantity=1)
    too_late.occur_time.seconds = 253_402_300_000  # the year 9999
    poisons = [
        _event(common_pb2.EVENT_TYPE_BASKET_ADD, "", session_id, product_id=target.product_id, quantity=2**31 - 1),
        _event(
            common_pb2.EVENT_TYPE_BASKET_ADD,
            "",
            session_id,
            product_id=target.product_id,
            quantity=1,
            unit_price_micros=2**62,
        ),
        _event(common_pb2.EVENT_TYPE_IMPRESSION, "", session_id, tracking_token="x", ad_id="a", visible_duration_ms=-5),
        too_late,
    ]
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        for event in poisons:
            await _report(tally, stub, target, [event], credential=credential)
        # A megabyte cart id.
        await _report(
            tally,
            stub,
            target,
            [
                _event(
                    common_pb2.EVENT_TYPE_BASKET_ADD,
                    "c" * 1_000_000,
                    session_id,
                    product_id=target.product_id,
                    quantity=1,
                )
            ],
            credential=credential,
        )
        # Bytes that are no protobuf at all.
        raw = channel.unary_unary(
            "/cartads.v1.AdService/ReportEvents", request_serializer=_raw, response_deserializer=_raw
        )
        tally.events_sent += 1
        await _call(tally, lambda: raw(b"\xff\xff\xff\xff\x0f", timeout=_CALL_TIMEOUT_S))
    # Straight to the cloud with the leaked edge token: the same poison in journaled form.
    journaled = []
    now_us = _now_ms() * 1000
    for n, event in enumerate(poisons):
        item = event_ingest_pb2.JournaledEvent(seq=2**41 + n, event=event)
        item.event.cart_id = target.stolen_cart_id
        item.receive_time.CopyFrom(us_to_ts(now_us))
        journaled.append(item)
    await _upload(tally, target, journaled)
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
                events = [
                    _event(common_pb2.EVENT_TYPE_DISMISS, "", session_id, ad_id=f"nothing-{worker}-{n}-{i}")
                    for i in range(1_000)
                ]
                await _report(tally, stub, target, events, credential=target.flood_credential)
                n += 1

        await asyncio.gather(*(flooder(w) for w in range(4)))
    return tally


ATTACKS: dict[str, Callable[[Target], Coroutine[Any, Any, AttackTally]]] = {
    "no_credential": no_credential,
    "stolen_credential": stolen_credential,
    "edge_forger": edge_forger,
    "poison": poison,
    "journal_flood": journal_flood,
}
