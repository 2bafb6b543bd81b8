"""What the integrity bench's attackers know, and the calls they all make (thin gRPC helpers)."""

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from cartads.bench.integrity.tally import AttackTally
from cartads.rpc.bearer import aio_channel
from cartads.time_units import us_to_ts
from cartads.v1 import ad_service_pb2, ad_service_pb2_grpc, common_pb2, event_ingest_pb2, event_ingest_pb2_grpc

CALL_TIMEOUT_S = 5.0


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
    flood_cart_id: str
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


def raw(data: bytes) -> bytes:
    return data


def now_ms() -> int:
    return int(time.time() * 1000)


def cart_event(
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
    event.occur_time.CopyFrom(us_to_ts(now_ms() * 1000))
    return event


async def call(tally: AttackTally, call: Callable[[], Any]) -> object | None:
    """One call; a refusal is tallied by its code, an answer returned."""
    tally.calls += 1
    try:
        answer: object = await call()
        return answer
    except grpc.aio.AioRpcError as exc:
        tally.refuse(exc.code())
        tally.notes.setdefault(f"details_{exc.code().name}", (exc.details() or "")[:200])
        return None


async def report(
    tally: AttackTally,
    stub: ad_service_pb2_grpc.AdServiceStub,
    target: Target,
    events: list[common_pb2.CartEvent],
    *,
    credential: str,
    cart_id: str = "",
) -> bool:
    """Report ``events``; True when the edge took the call."""
    tally.events_sent += len(events)
    request = ad_service_pb2.ReportEventsRequest(
        store_id=target.store_id, cart_id=cart_id, events=events, cart_credential=credential
    )
    request.send_time.CopyFrom(us_to_ts(now_ms() * 1000))
    answer = await call(tally, lambda: stub.ReportEvents(request, timeout=CALL_TIMEOUT_S))
    if isinstance(answer, ad_service_pb2.ReportEventsResponse):
        tally.events_accepted += answer.accepted_count
        return True
    return False


def get_ads_request(
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


def made_up_credential(store_id: str) -> str:
    secret = secrets.token_urlsafe(32)[:43]
    return f"v1:{store_id}:{secrets.token_hex(12)}:{secret}"


async def upload(tally: AttackTally, target: Target, events: list[event_ingest_pb2.JournaledEvent]) -> None:
    tally.events_sent += len(events)
    async with aio_channel(target.cloud_address, target.edge_token) as channel:
        stub = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        request = event_ingest_pb2.UploadEventsRequest(store_id=target.store_id, edge_id=target.edge_id, events=events)
        answer = await call(tally, lambda: stub.UploadEvents(request, timeout=CALL_TIMEOUT_S))
        if isinstance(answer, event_ingest_pb2.UploadEventsResponse):
            tally.events_accepted += answer.recorded_count
            tally.notes["billed_count"] = tally.notes.get("billed_count", 0) + answer.billed_count
            tally.notes["rejected_count"] = tally.notes.get("rejected_count", 0) + answer.rejected_count
