"""The edge-credential forger: whoever holds an edge token (or an edge's disk, with its signing key)
signs tokens for charges the cloud never issued. The cloud bills none of them, dead-letters each with
its reason and flags the uploading edge; honest events of the same upload are billed exactly once."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cartads import tracking_token
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, Order
from cartads.time_units import dt_to_ts
from cartads.v1 import ad_service_pb2, admin_pb2, asset_pb2, common_pb2, event_ingest_pb2
from cartads.v1.asset_pb2_grpc import AssetServiceStub
from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceStub
from cloud_core.config import CloudConfig
from edge_node.sync.signing_keys import stored_keys
from tests.asset_images import png_bytes
from tests.eventually import eventually
from tests.instant_ivt import INSTANT_IVT
from tests.integration.whole_loop import STORE_ID, Loop, open_loop

R = admin_pb2.DeadLetterReason
ROGUE_EDGE = "rogue-1"


@pytest.fixture
async def strict_loop(tmp_path: Path, sample: tuple[Catalog, list[Order]]) -> AsyncIterator[Loop]:
    """The whole loop on a cloud past its legacy cut-over: only per-edge keys bill."""
    # Its honest impressions are uploaded the moment they are served (INSTANT_IVT waives only that wait).
    config = CloudConfig(
        db=str(tmp_path / "cloud.sqlite3"),
        listen_address="127.0.0.1:0",
        legacy_store_key_tokens_until_us=1,
        ivt_policy=INSTANT_IVT,
    )
    async with open_loop(tmp_path, sample, config) as running:
        yield running


def stolen_key(loop: Loop) -> tuple[str, bytes]:
    """The edge's signing key as its disk holds it (what a thief of the disk gets)."""
    return stored_keys(loop.edge_config.data_dir)[-1]


async def served_ad(loop: Loop) -> common_pb2.CartEvent:
    """An honest impression of an ad the edge served to a fresh cart session."""
    session = uuid.uuid4().hex
    response = await loop.ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID, cart_id="cart-1", session_id=session, trigger=common_pb2.TRIGGER_SESSION_START, max_ads=1
        )
    )
    (ad,) = response.ads
    return common_pb2.CartEvent(
        event_id=f"honest-{session}",
        type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="cart-1",
        session_id=session,
        ad_id=ad.ad_id,
        tracking_token=ad.tracking_token,
        occur_time=dt_to_ts(datetime.now(UTC)),
        visible_duration_ms=1_000,
    )


def forged(
    template: common_pb2.CartEvent, key: bytes, event_type: int = common_pb2.EVENT_TYPE_CLICK, **changes: object
) -> common_pb2.CartEvent:
    """A copy of an honest event under a new decision, its token's payload changed and signed with ``key``."""
    payload = tracking_token.peek(template.tracking_token)
    ad_id = f"forged-{uuid.uuid4().hex[:12]}"
    payload.ad_id = ad_id
    for name, value in changes.items():
        setattr(payload, name, value)
    event = common_pb2.CartEvent()
    event.CopyFrom(template)
    event.event_id = ad_id
    event.ad_id = ad_id
    event.type = event_type  # type: ignore[assignment]
    event.tracking_token = tracking_token.sign(payload, key)
    return event


async def upload(loop: Loop, events: list[common_pb2.CartEvent]) -> event_ingest_pb2.UploadEventsResponse:
    """Upload ``events`` as an edge of the store would, with the store's edge token."""
    channel = aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.edge_token)
    try:
        journaled = [
            event_ingest_pb2.JournaledEvent(seq=i + 1, event=e, receive_time=dt_to_ts(datetime.now(UTC)))
            for i, e in enumerate(events)
        ]
        request = event_ingest_pb2.UploadEventsRequest(store_id=STORE_ID, edge_id=ROGUE_EDGE, events=journaled)
        response: event_ingest_pb2.UploadEventsResponse = await EventIngestServiceStub(channel).UploadEvents(request)
        return response
    finally:
        await channel.close(None)


async def cheap_cpc_line_item(loop: Loop, template: common_pb2.CartEvent) -> str:
    """A CPC line item bidding 0.50 USD per click in the template's campaign, once the edge serves it."""
    payload = tracking_token.peek(template.tracking_token)
    before = loop.edge.index_version
    await loop.admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(
            line_item_id="li-cheap-cpc",
            line_item=admin_pb2.LineItem(
                campaign_id=payload.campaign_id,
                display_name="cheap clicks",
                pricing_model=common_pb2.PRICING_MODEL_CPC,
                bid_micros=500_000,
                targeting=admin_pb2.Targeting(product_ids=[loop.catalog.products[0].product_id]),
                creative_ids=[payload.creative_id],
                state=admin_pb2.SERVING_STATE_ACTIVE,
            ),
        )
    )
    await eventually(lambda: loop.edge.index_version != before, what="the new line item's version served")
    return loop.edge.index_version


async def foreign_creative(loop: Loop, advertiser_id: str) -> str:
    """A creative of another advertiser than ``advertiser_id``."""
    listed = await loop.admin.ListCreatives(admin_pb2.ListCreativesRequest(page_size=500))
    return next(c.creative_id for c in listed.creatives if c.advertiser_id != advertiser_id)


async def test_edge_signs_with_its_own_registered_key(strict_loop: Loop) -> None:
    """The edge's tokens name its own key, kept on its disk for its user only and listed by the cloud."""
    loop = strict_loop
    event = await served_ad(loop)
    key_id, _ = stolen_key(loop)
    assert tracking_token.peek(event.tracking_token).signing_key_id == key_id
    mode = stat.S_IMODE(os.stat(Path(loop.edge_config.data_dir) / "signing_keys.json").st_mode)
    assert mode == 0o600
    listed = await loop.admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
    (edge,) = listed.edges
    assert [k.key_id for k in edge.signing_keys] == [key_id]
    assert edge.signing_keys[0].registered_by


async def test_forger_gets_nothing_and_honest_events_are_billed_once(strict_loop: Loop) -> None:
    """Forged charges are dead-lettered with their reasons and flag the uploading edge (and the edge
    whose stolen key signed some); honest ones bill once."""
    loop = strict_loop
    honest = [await served_ad(loop) for _ in range(3)]
    template = honest[0]
    payload = tracking_token.peek(template.tracking_token)
    key_id, key = stolen_key(loop)
    version = await cheap_cpc_line_item(loop, template)
    # Another store's edge registered this key id; the forger names it but cannot sign with it.
    other = await loop.cloud.store.signing_keys.register_key("other-store", "e9", "0123456789abcdef", b"o" * 32, "t", 1)
    assert not other.conflict
    legacy_key = await loop.cloud.store.catalog.signing_key(STORE_ID)
    assert legacy_key is not None
    made_up = os.urandom(32)
    cases = {
        R.DEAD_LETTER_REASON_UNKNOWN_SIGNING_KEY: forged(template, made_up, signing_key_id="deadbeefdeadbeef"),
        R.DEAD_LETTER_REASON_FOREIGN_STORE: forged(template, made_up, signing_key_id="0123456789abcdef"),
        R.DEAD_LETTER_REASON_TOKEN_SIGNATURE: forged(template, made_up, signing_key_id=key_id),
        R.DEAD_LETTER_REASON_LEGACY_TOKEN: forged(template, legacy_key, signing_key_id=""),
        R.DEAD_LETTER_REASON_PRICE_ABOVE_TERMS: forged(
            template,
            key,
            index_version=version,
            line_item_id="li-cheap-cpc",
            pricing_model=common_pb2.PRICING_MODEL_CPC,
            price_micros=900_000_000,
        ),
        R.DEAD_LETTER_REASON_LINE_ITEM_NOT_IN_VERSION: forged(
            template, key, index_version=version, line_item_id="li-none"
        ),
        R.DEAD_LETTER_REASON_VERSION_NOT_SENT: forged(template, key, index_version="f" * 64),
        R.DEAD_LETTER_REASON_CREATIVE_NOT_IN_LINE_ITEM: forged(
            template, key, index_version=version, creative_id=await foreign_creative(loop, payload.advertiser_id)
        ),
        R.DEAD_LETTER_REASON_OWNER_MISMATCH: forged(
            template, key, index_version=version, advertiser_id="adv-someone-else"
        ),
    }
    batch = [honest[0], *cases.values(), honest[1], honest[2]]
    first = await upload(loop, batch)
    again = await upload(loop, batch)

    assert (first.billed_count, first.rejected_count) == (3, len(cases))
    assert (again.billed_count, again.rejected_count, again.duplicate_count) == (0, 0, len(batch))
    dead = await loop.admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest(store_id=STORE_ID, edge_id=ROGUE_EDGE))
    assert {d.event_id: d.reason_code for d in dead.dead_letters} == {e.event_id: code for code, e in cases.items()}
    price = next(d for d in dead.dead_letters if d.reason_code == R.DEAD_LETTER_REASON_PRICE_ABOVE_TERMS)
    assert price.claimed_charge_micros == 900_000_000
    spend = await loop.admin.GetSpendReport(admin_pb2.GetSpendReportRequest(store_id=STORE_ID))
    honest_charges = sum(round(tracking_token.peek(e.tracking_token).price_micros / 1000) for e in honest)
    assert spend.total_spend_micros == honest_charges
    edges = {e.edge_id: e for e in (await loop.admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))).edges}
    assert edges[ROGUE_EDGE].flagged
    assert edges[ROGUE_EDGE].flag_count == len(cases)
    # The five charges signed with the stolen key also flag the edge it belongs to: its key is out.
    owner = edges[loop.edge_config.edge_id]
    assert (owner.flagged, owner.flag_count) == (True, 5)


async def test_revoked_key_is_replaced_and_its_tokens_no_longer_bill(strict_loop: Loop) -> None:
    """After an admin revokes the edge's key, the edge signs with a new one; old-key tokens are refused."""
    loop = strict_loop
    old_event = await served_ad(loop)
    old_key_id, _ = stolen_key(loop)
    revoked = await loop.admin.RevokeEdgeSigningKey(admin_pb2.RevokeEdgeSigningKeyRequest(key_id=old_key_id))
    assert revoked.key.HasField("revoke_time")

    async def rotated() -> bool:
        return stolen_key(loop)[0] != old_key_id

    await eventually(rotated, what="the edge's new key")
    new_key_id, _ = stolen_key(loop)

    async def registered() -> bool:
        listed = await loop.admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
        return new_key_id in [k.key_id for e in listed.edges for k in e.signing_keys]

    await eventually(registered, what="the new key registered")
    new_event = await served_ad(loop)
    assert tracking_token.peek(new_event.tracking_token).signing_key_id == new_key_id
    result = await upload(loop, [old_event, new_event])
    assert (result.billed_count, result.rejected_count) == (1, 1)
    dead = await loop.admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest(store_id=STORE_ID, edge_id=ROGUE_EDGE))
    assert [(d.event_id, d.reason_code) for d in dead.dead_letters] == [
        (old_event.event_id, R.DEAD_LETTER_REASON_REVOKED_SIGNING_KEY)
    ]


async def test_edge_gets_only_the_assets_its_store_was_sent(strict_loop: Loop) -> None:
    """An edge credential fetches the images its store's indexes show; any other hash is as absent."""
    loop = strict_loop

    async def requests() -> AsyncIterator[admin_pb2.UploadAssetRequest]:
        yield admin_pb2.UploadAssetRequest(filename="secret.png", chunk=png_bytes(40, 30))

    unreferenced = (await loop.admin.UploadAsset(requests())).asset.sha256
    db = sqlite3.connect(Path(loop.edge_config.data_dir).parent / "cloud.sqlite3")
    try:
        (referenced,) = db.execute("SELECT sha256 FROM store_assets WHERE store_id = ? LIMIT 1", (STORE_ID,)).fetchone()
    finally:
        db.close()
    channel = aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.edge_token)
    try:
        stub = AssetServiceStub(channel)
        got = await stub.BatchGetAssets(
            asset_pb2.BatchGetAssetsRequest(store_id=STORE_ID, sha256s=[referenced, unreferenced])
        )
        missing = await stub.BatchGetAssets(asset_pb2.BatchGetAssetsRequest(store_id=STORE_ID, sha256s=["0" * 64]))
        refused = await stub.BatchGetAssets(asset_pb2.BatchGetAssetsRequest(store_id=STORE_ID, sha256s=[unreferenced]))
    finally:
        await channel.close(None)
    assert [a.sha256 for a in got.assets] == [referenced]
    assert refused == missing == asset_pb2.BatchGetAssetsResponse()
