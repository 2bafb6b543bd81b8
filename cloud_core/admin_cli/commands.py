"""The commands of ``cartads-admin``: each turns parsed arguments into AdminService calls and prints."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.sample.catalog_messages import import_catalog_requests
from cartads.sample.instacart import load_catalog
from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2

PRICING = {
    "cpm": common_pb2.PRICING_MODEL_CPM,
    "cpc": common_pb2.PRICING_MODEL_CPC,
    "cpa": common_pb2.PRICING_MODEL_CPA,
}
TRIGGERS = {
    "session-start": common_pb2.TRIGGER_SESSION_START,
    "scan": common_pb2.TRIGGER_SCAN,
    "zone-enter": common_pb2.TRIGGER_ZONE_ENTER,
    "idle": common_pb2.TRIGGER_IDLE,
    "checkout": common_pb2.TRIGGER_CHECKOUT,
}
PACING = {
    "even": admin_pb2.PACING_TYPE_EVEN,
    "asap": admin_pb2.PACING_TYPE_ASAP,
}
TIERS = {
    "sponsorship": common_pb2.PRIORITY_TIER_SPONSORSHIP,
    "auction": common_pb2.PRIORITY_TIER_AUCTION,
    "house": common_pb2.PRIORITY_TIER_HOUSE,
}
FORMATS = {
    "sponsored-product": common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
    "banner": common_pb2.CREATIVE_FORMAT_BANNER,
    "coupon": common_pb2.CREATIVE_FORMAT_COUPON,
    "recipe": common_pb2.CREATIVE_FORMAT_RECIPE,
}

Stub = admin_pb2_grpc.AdminServiceStub
Handler = Callable[[Stub, argparse.Namespace], None]


class UsageError(Exception):
    """Bad command-line input found after parsing (e.g. a malformed date)."""


# ---- output ----


def _cell(msg: Message, name: str) -> str:
    field = msg.DESCRIPTOR.fields_by_name[name]
    value = getattr(msg, name)
    if field.enum_type is not None:
        names = [field.enum_type.values_by_number[int(v)].name for v in (value if _repeated(field) else [value])]
        return ",".join(n.split("_", 2)[-1] if n.count("_") >= 2 else n for n in names)
    if isinstance(value, Timestamp):
        return value.ToJsonString() if value.seconds or value.nanos else ""
    if _repeated(field):
        return ",".join(str(v) for v in value)
    return str(value)


def _clip(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)


def emit(args: argparse.Namespace, rows: Sequence[Message], columns: Sequence[str], single: bool = False) -> None:
    """Print rows as a table, or as JSON with --json (one object when ``single``)."""
    if args.json:
        dicts = [json_format.MessageToDict(r, preserving_proto_field_name=True) for r in rows]
        print(json.dumps(dicts[0] if single and dicts else dicts, indent=2, sort_keys=True))
        return
    table = [list(columns)] + [[_clip(_cell(r, c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def emit_json_or(args: argparse.Namespace, message: Message, text: str) -> None:
    if args.json:
        print(
            json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), indent=2, sort_keys=True)
        )
    else:
        print(text)


# ---- input ----


def parse_time(text: str) -> Timestamp:
    """ISO 8601; a time without a zone is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not an ISO 8601 date or time") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    ts = Timestamp()
    ts.FromDatetime(dt.astimezone(UTC))
    return ts


def _paths(args: argparse.Namespace, mapping: dict[str, str]) -> list[str]:
    return [path for arg, path in mapping.items() if getattr(args, arg) is not None]


def _list_all(call: Callable[[Any], Any], request: Any, field: str) -> list[Message]:
    rows: list[Message] = []
    while True:
        response = call(request)
        rows.extend(getattr(response, field))
        if not response.next_page_token:
            return rows
        request.page_token = response.next_page_token


# ---- commands ----

ADV_COLS = ["advertiser_id", "display_name", "create_time"]
CMP_COLS = ["campaign_id", "advertiser_id", "display_name", "state", "budget_micros", "start_time", "end_time"]
LI_COLS = [
    "line_item_id",
    "campaign_id",
    "display_name",
    "state",
    "priority_tier",
    "pricing_model",
    "bid_micros",
    "creative_ids",
]
CR_COLS = ["creative_id", "advertiser_id", "display_name", "format", "headline", "promoted_product_id"]
STORE_COLS = ["store_id", "display_name", "time_zone", "create_time"]


def advertisers_create(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.CreateAdvertiserRequest(
        advertiser_id=args.id or "", advertiser=admin_pb2.Advertiser(display_name=args.name)
    )
    emit(args, [stub.CreateAdvertiser(req).advertiser], ADV_COLS, single=True)


def advertisers_list(stub: Stub, args: argparse.Namespace) -> None:
    emit(
        args, _list_all(stub.ListAdvertisers, admin_pb2.ListAdvertisersRequest(page_size=1000), "advertisers"), ADV_COLS
    )


def advertisers_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetAdvertiser(admin_pb2.GetAdvertiserRequest(advertiser_id=args.id)).advertiser], ADV_COLS, True)


def advertisers_update(stub: Stub, args: argparse.Namespace) -> None:
    adv = admin_pb2.Advertiser(advertiser_id=args.id, display_name=args.name or "")
    mask = FieldMask(paths=_paths(args, {"name": "display_name"}))
    emit(
        args,
        [stub.UpdateAdvertiser(admin_pb2.UpdateAdvertiserRequest(advertiser=adv, update_mask=mask)).advertiser],
        ADV_COLS,
        True,
    )


def advertisers_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteAdvertiser(admin_pb2.DeleteAdvertiserRequest(advertiser_id=args.id))
    print(f"deleted advertiser {args.id}")


def campaigns_create(stub: Stub, args: argparse.Namespace) -> None:
    campaign = admin_pb2.Campaign(
        advertiser_id=args.advertiser,
        display_name=args.name,
        budget_micros=args.budget_micros,
        start_time=parse_time(args.start),
        end_time=parse_time(args.end),
        frequency_cap_per_session=args.cap,
        state=admin_pb2.SERVING_STATE_PAUSED if args.paused else admin_pb2.SERVING_STATE_ACTIVE,
    )
    req = admin_pb2.CreateCampaignRequest(campaign_id=args.id or "", campaign=campaign)
    emit(args, [stub.CreateCampaign(req).campaign], CMP_COLS, single=True)


def campaigns_list(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListCampaignsRequest(page_size=1000, advertiser_id=args.advertiser or "")
    emit(args, _list_all(stub.ListCampaigns, req, "campaigns"), CMP_COLS)


def campaigns_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id=args.id)).campaign], CMP_COLS, True)


def _update_campaign(stub: Stub, args: argparse.Namespace, campaign: admin_pb2.Campaign, paths: list[str]) -> None:
    req = admin_pb2.UpdateCampaignRequest(campaign=campaign, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateCampaign(req).campaign], CMP_COLS, True)


def campaigns_update(stub: Stub, args: argparse.Namespace) -> None:
    campaign = admin_pb2.Campaign(
        campaign_id=args.id,
        display_name=args.name or "",
        budget_micros=args.budget_micros or 0,
        frequency_cap_per_session=args.cap or 0,
    )
    if args.start:
        campaign.start_time.CopyFrom(parse_time(args.start))
    if args.end:
        campaign.end_time.CopyFrom(parse_time(args.end))
    paths = _paths(
        args,
        {
            "name": "display_name",
            "budget_micros": "budget_micros",
            "start": "start_time",
            "end": "end_time",
            "cap": "frequency_cap_per_session",
        },
    )
    if not paths:
        raise UsageError("nothing to update: give --name, --budget-micros, --start, --end or --cap")
    _update_campaign(stub, args, campaign, paths)


def campaigns_pause(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.PauseCampaign(admin_pb2.PauseCampaignRequest(campaign_id=args.id)).campaign], CMP_COLS, True)


def campaigns_resume(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.ResumeCampaign(admin_pb2.ResumeCampaignRequest(campaign_id=args.id)).campaign], CMP_COLS, True)


def campaigns_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteCampaign(admin_pb2.DeleteCampaignRequest(campaign_id=args.id))
    print(f"deleted campaign {args.id}")


# Targeting flag -> Targeting field.
TARGETING_FLAGS = {
    "product": "product_ids",
    "brand": "brands",
    "aisle": "aisle_ids",
    "department": "department_ids",
    "zone": "zone_ids",
    "trigger": "triggers",
    "store": "store_ids",
    "daypart_hour": "daypart_hours",
    "daypart_weekday": "daypart_weekdays",
}


def _targeting(args: argparse.Namespace) -> admin_pb2.Targeting:
    return admin_pb2.Targeting(
        product_ids=args.product or [],
        brands=args.brand or [],
        aisle_ids=args.aisle or [],
        department_ids=args.department or [],
        zone_ids=args.zone or [],
        triggers=[TRIGGERS[t] for t in args.trigger or []],
        store_ids=args.store or [],
        daypart_hours=args.daypart_hour or [],
        daypart_weekdays=args.daypart_weekday or [],
    )


def line_items_create(stub: Stub, args: argparse.Namespace) -> None:
    item = admin_pb2.LineItem(
        campaign_id=args.campaign,
        display_name=args.name,
        pricing_model=PRICING[args.pricing],
        bid_micros=args.bid_micros,
        targeting=_targeting(args),
        creative_ids=args.creative or [],
        frequency_cap_per_session=args.cap,
        creative_frequency_cap_per_session=args.creative_cap,
        priority_tier=TIERS[args.tier] if args.tier else common_pb2.PRIORITY_TIER_UNSPECIFIED,
        exclusion_label=args.exclusion_label or "",
        state=admin_pb2.SERVING_STATE_PAUSED if args.paused else admin_pb2.SERVING_STATE_ACTIVE,
        pacing_type=PACING[args.pacing] if args.pacing else admin_pb2.PACING_TYPE_EVEN,
        daily_budget_micros=args.daily_budget_micros or 0,
    )
    req = admin_pb2.CreateLineItemRequest(line_item_id=args.id or "", line_item=item)
    emit(args, [stub.CreateLineItem(req).line_item], LI_COLS, single=True)


def line_items_list(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListLineItemsRequest(page_size=1000, campaign_id=args.campaign or "")
    emit(args, _list_all(stub.ListLineItems, req, "line_items"), LI_COLS)


def line_items_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=args.id)).line_item], LI_COLS, True)


def _update_line_item(stub: Stub, args: argparse.Namespace, item: admin_pb2.LineItem, paths: list[str]) -> None:
    req = admin_pb2.UpdateLineItemRequest(line_item=item, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateLineItem(req).line_item], LI_COLS, True)


def line_items_update(stub: Stub, args: argparse.Namespace) -> None:
    """Change the fields whose flags are given; a repeatable flag replaces that whole list."""
    item = admin_pb2.LineItem(
        line_item_id=args.id,
        display_name=args.name or "",
        bid_micros=args.bid_micros or 0,
        pricing_model=PRICING[args.pricing] if args.pricing else common_pb2.PRICING_MODEL_UNSPECIFIED,
        frequency_cap_per_session=args.cap or 0,
        creative_frequency_cap_per_session=args.creative_cap or 0,
        priority_tier=TIERS[args.tier] if args.tier else common_pb2.PRIORITY_TIER_UNSPECIFIED,
        exclusion_label=args.exclusion_label or "",
        creative_ids=args.creative or [],
        targeting=_targeting(args),
        pacing_type=PACING[args.pacing] if args.pacing else admin_pb2.PACING_TYPE_UNSPECIFIED,
        daily_budget_micros=args.daily_budget_micros or 0,
    )
    paths = _paths(
        args,
        {
            "name": "display_name",
            "bid_micros": "bid_micros",
            "pricing": "pricing_model",
            "cap": "frequency_cap_per_session",
            "creative_cap": "creative_frequency_cap_per_session",
            "tier": "priority_tier",
            "exclusion_label": "exclusion_label",
            "creative": "creative_ids",
            "pacing": "pacing_type",
            "daily_budget_micros": "daily_budget_micros",
        },
    )
    if args.run_of_store:
        paths.append("targeting")
    else:
        paths += [f"targeting.{field}" for flag, field in TARGETING_FLAGS.items() if getattr(args, flag) is not None]
    if not paths:
        raise UsageError("nothing to update: give a field flag (see --help)")
    _update_line_item(stub, args, item, paths)


def line_items_pause(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.PauseLineItemRequest(line_item_id=args.id)
    emit(args, [stub.PauseLineItem(request).line_item], LI_COLS, True)


def line_items_resume(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ResumeLineItemRequest(line_item_id=args.id)
    emit(args, [stub.ResumeLineItem(request).line_item], LI_COLS, True)


def line_items_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteLineItem(admin_pb2.DeleteLineItemRequest(line_item_id=args.id))
    print(f"deleted line item {args.id}")


def stores_create(stub: Stub, args: argparse.Namespace) -> None:
    store = admin_pb2.Store(display_name=args.name, time_zone=args.tz)
    emit(
        args,
        [stub.CreateStore(admin_pb2.CreateStoreRequest(store_id=args.id or "", store=store)).store],
        STORE_COLS,
        True,
    )


def stores_list(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, _list_all(stub.ListStores, admin_pb2.ListStoresRequest(page_size=1000), "stores"), STORE_COLS)


def stores_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetStore(admin_pb2.GetStoreRequest(store_id=args.id)).store], STORE_COLS, True)


def stores_update(stub: Stub, args: argparse.Namespace) -> None:
    store = admin_pb2.Store(store_id=args.id, display_name=args.name or "", time_zone=args.tz or "")
    paths = _paths(args, {"name": "display_name", "tz": "time_zone"})
    if not paths:
        raise UsageError("nothing to update: give --name or --tz")
    req = admin_pb2.UpdateStoreRequest(store=store, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateStore(req).store], STORE_COLS, True)


def stores_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteStore(admin_pb2.DeleteStoreRequest(store_id=args.id))
    print(f"deleted store {args.id}")


def catalog_import(stub: Stub, args: argparse.Namespace) -> None:
    try:
        catalog = load_catalog(Path(args.instacart))
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read an Instacart catalog from {args.instacart}: {exc}") from exc
    response = stub.ImportCatalog(import_catalog_requests(args.store, catalog))
    emit_json_or(
        args,
        response,
        f"imported {response.aisle_count} aisles, {response.department_count} departments and "
        f"{response.product_count} products into store {args.store}",
    )


def catalog_products(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListProductsRequest(store_id=args.store, page_size=1000)
    cols = ["product_id", "display_name", "aisle_id", "department_id", "brand", "price_micros"]
    emit(args, _list_all(stub.ListProducts, req, "products"), cols)


def catalog_aisles(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListAislesRequest(store_id=args.store, page_size=1000)
    emit(args, _list_all(stub.ListAisles, req, "aisles"), ["aisle_id", "display_name", "zone_id"])


def report_spend(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.GetSpendReportRequest(store_id=args.store or "", advertiser_id=args.advertiser or "")
    response = stub.GetSpendReport(req)
    if args.json:
        emit_json_or(args, response, "")
        return
    cols = [
        "campaign_id",
        "advertiser_id",
        "display_name",
        "impressions",
        "clicks",
        "conversions",
        "spend_micros",
        "budget_micros",
    ]
    emit(args, list(response.campaigns), cols)
    print(f"total_spend_micros={response.total_spend_micros} billed_event_count={response.billed_event_count}")
