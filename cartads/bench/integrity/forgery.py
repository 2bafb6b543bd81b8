"""Attackers holding an edge's credential and disk: forged charges, and poison at the edge and the cloud."""

import os
import secrets
import uuid

import grpc

from cartads import tracking_token
from cartads.bench.integrity.tally import AttackTally
from cartads.bench.integrity.target import CALL_TIMEOUT_S, Target, call, cart_event, now_ms, raw, report, upload
from cartads.time_units import us_to_ts
from cartads.v1 import ad_service_pb2_grpc, common_pb2, event_ingest_pb2
from cartads.v1.tracking_pb2 import TrackingTokenPayload


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
        issue_time_unix_ms=now_ms() - 5_000,
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
    now_us = now_ms() * 1000
    for key_id, key, changes in variants:
        token, payload = _forged_token(target, key_id, key, **changes)
        for kind in (common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK):
            event = cart_event(
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


async def edge_forger(target: Target, rounds: int = 5) -> AttackTally:
    """Forged charges uploaded with a leaked edge token and the edge's own key: none may stand."""
    tally = AttackTally("edge_forger")
    for n in range(rounds):
        await upload(tally, target, _forged_events(target, seq_base=2**40 + n * 1_000))
    return tally


async def poison(target: Target) -> AttackTally:
    """Values past every bound, through the edge and straight to the cloud. ``notes["edge_took"]`` says
    which poisons the edge took (only a claimed shelf price, which it replaces with its own)."""
    tally = AttackTally("poison")
    credential = target.poison_credential
    session_id = f"poison-{uuid.uuid4().hex[:8]}"
    basket_add = common_pb2.EVENT_TYPE_BASKET_ADD
    too_late = cart_event(basket_add, "", session_id, product_id=target.product_id, quantity=1)
    too_late.occur_time.seconds = 253_402_300_000  # the year 9999
    poisons = {
        "quantity_2_31": cart_event(basket_add, "", session_id, product_id=target.product_id, quantity=2**31 - 1),
        "claimed_shelf_price": cart_event(
            basket_add, "", session_id, product_id=target.product_id, quantity=1, unit_price_micros=2**62
        ),
        "negative_visible_duration": cart_event(
            common_pb2.EVENT_TYPE_IMPRESSION, "", session_id, tracking_token="x", ad_id="a", visible_duration_ms=-5
        ),
        "year_9999": too_late,
    }
    took: dict[str, bool] = {}
    async with grpc.aio.insecure_channel(target.edge_address) as channel:
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        for name, event in poisons.items():
            took[name] = await report(tally, stub, target, [event], credential=credential)
        megabyte_cart = cart_event(basket_add, "c" * 1_000_000, session_id, product_id=target.product_id, quantity=1)
        took["megabyte_cart_id"] = await report(tally, stub, target, [megabyte_cart], credential=credential)
        # Bytes that are no protobuf at all.
        garbage = channel.unary_unary(
            "/cartads.v1.AdService/ReportEvents", request_serializer=raw, response_deserializer=raw
        )
        tally.events_sent += 1
        took["not_protobuf"] = (
            await call(tally, lambda: garbage(b"\xff\xff\xff\xff\x0f", timeout=CALL_TIMEOUT_S)) is not None
        )
    tally.notes["edge_took"] = took
    # Straight to the cloud with the leaked edge token: the poisons beyond the contract's bounds.
    journaled = []
    now_us = now_ms() * 1000
    for n, name in enumerate(("quantity_2_31", "claimed_shelf_price", "negative_visible_duration", "year_9999")):
        item = event_ingest_pb2.JournaledEvent(seq=2**41 + n, event=poisons[name])
        item.event.cart_id = target.stolen_cart_id
        item.event.event_id = uuid.uuid4().hex  # new events, not the edge's copies
        item.receive_time.CopyFrom(us_to_ts(now_us))
        journaled.append(item)
    await upload(tally, target, journaled)
    return tally
