"""``cartads-admin line-items create|list|get|update|pause|resume|delete``, with targeting and serving flags."""

from __future__ import annotations

import argparse

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.command import (
    Stub,
    Subcommands,
    UsageError,
    add_command,
    add_group,
    given_paths,
    list_all,
)
from cloud_core.admin_cli.output import emit, message_json, print_table

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
COLUMNS = [
    "line_item_id",
    "campaign_id",
    "display_name",
    "state",
    "priority_tier",
    "pricing_model",
    "bid_micros",
    "creative_ids",
]
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
# Flag -> LineItem field, for line-items update.
UPDATE_FLAGS = {
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
    emit(args, [stub.CreateLineItem(req).line_item], COLUMNS, single=True)


def line_items_list(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListLineItemsRequest(page_size=1000, campaign_id=args.campaign or "")
    emit(args, list_all(stub.ListLineItems, req, "line_items"), COLUMNS)


def line_items_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=args.id)).line_item], COLUMNS, True)


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
    paths = given_paths(args, UPDATE_FLAGS)
    if args.run_of_store:
        paths.append("targeting")
    else:
        paths += [f"targeting.{field}" for field in given_paths(args, TARGETING_FLAGS)]
    if not paths:
        raise UsageError("nothing to update: give a field flag (see --help)")
    req = admin_pb2.UpdateLineItemRequest(line_item=item, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateLineItem(req).line_item], COLUMNS, True)


def line_items_pause(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.PauseLineItemRequest(line_item_id=args.id)
    emit(args, [stub.PauseLineItem(request).line_item], COLUMNS, True)


def line_items_resume(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ResumeLineItemRequest(line_item_id=args.id)
    emit(args, [stub.ResumeLineItem(request).line_item], COLUMNS, True)


def line_items_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteLineItem(admin_pb2.DeleteLineItemRequest(line_item_id=args.id))
    print(f"deleted line item {args.id}")


def _add_targeting(p: argparse.ArgumentParser) -> None:
    p.add_argument("--product", action="append", help="target a product id (repeatable)")
    p.add_argument("--brand", action="append", help="target a brand (repeatable)")
    p.add_argument("--aisle", action="append", help="target an aisle id (repeatable)")
    p.add_argument("--department", action="append", help="target a department id (repeatable)")
    p.add_argument("--zone", action="append", help="target a store zone id (repeatable)")
    p.add_argument("--trigger", action="append", choices=sorted(TRIGGERS), help="serve only on this trigger")
    p.add_argument("--store", action="append", help="serve only in this store (repeatable)")
    p.add_argument(
        "--daypart-hour", action="append", type=int, metavar="H", help="serve only in this hour, 0-23 (repeatable)"
    )
    p.add_argument(
        "--daypart-weekday",
        action="append",
        type=int,
        metavar="D",
        help="serve only on this ISO weekday, 1 = Monday .. 7 (repeatable)",
    )


def _add_serving(p: argparse.ArgumentParser, creating: bool) -> None:
    p.add_argument("--cap", type=int, default=0 if creating else None, help="most ads per cart session, 0 = no cap")
    p.add_argument(
        "--creative-cap",
        type=int,
        default=0 if creating else None,
        help="most ads of any one creative per cart session, 0 = no cap",
    )
    p.add_argument(
        "--tier",
        choices=sorted(TIERS),
        help="priority tier: sponsorship serves before auction, auction before house (default auction)",
    )
    p.add_argument("--exclusion-label", help="ads sharing a non-empty label never share a response, e.g. soda")
    p.add_argument(
        "--pacing",
        choices=sorted(PACING),
        help="even: spread the budget over the flight and each day along the store's traffic (default); "
        "asap: spend as fast as eligible",
    )
    p.add_argument(
        "--daily-budget-micros",
        type=int,
        help="most to spend per local day over all stores; 0 derives it from the campaign's budget and flight",
    )


FORECAST_COLUMNS = ("store_id", "date", "eligible_requests", "expected_impressions")


def forecast(stub: Stub, args: argparse.Namespace) -> None:
    """A draft line item's expected eligible requests and impressions per day per store."""
    request = admin_pb2.ForecastAvailabilityRequest(
        targeting=_targeting(args), start_date=args.start, end_date=args.end
    )
    response = stub.ForecastAvailability(request)
    if args.json:
        print(message_json(response))
        return
    rows = [list(FORECAST_COLUMNS)]
    rows += [
        [d.store_id, d.date, f"{d.eligible_requests:,.0f}", f"{d.expected_impressions:,.0f}"] for d in response.days
    ]
    rows.append(
        ["total", "", f"{response.total_eligible_requests:,.0f}", f"{response.total_expected_impressions:,.0f}"]
    )
    print_table(rows)
    for store in response.stores:
        if store.days_observed == 0:
            print(f"note: store {store.store_id} has no traffic history yet: it forecasts 0")
    if response.upper_bound:
        print(
            "note: product, brand, aisle, department and zone targeting are not in the traffic counts:"
            " these numbers are an upper bound"
        )


def register(root: Subcommands) -> None:
    p = add_command(root, "forecast", forecast, "expected eligible requests and impressions of a draft targeting")
    p.add_argument("--from", dest="start", required=True, help="first local date, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, help="last local date, YYYY-MM-DD (inclusive)")
    _add_targeting(p)
    group = add_group(root, "line-items", "line items")
    p = add_command(group, "create", line_items_create, "create a line item")
    p.add_argument("--campaign", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--pricing", required=True, choices=sorted(PRICING))
    p.add_argument("--bid-micros", type=int, required=True, help="per thousand impressions (cpm) or per click (cpc)")
    p.add_argument("--creative", action="append", help="creative id (repeatable)")
    _add_serving(p, creating=True)
    p.add_argument("--paused", action="store_true")
    p.add_argument("--id")
    _add_targeting(p)
    add_command(group, "list", line_items_list, "list line items").add_argument("--campaign")
    add_command(group, "get", line_items_get, "show one line item").add_argument("id")
    p = add_command(group, "update", line_items_update, "change a line item; a repeatable flag replaces its whole list")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--pricing", choices=sorted(PRICING))
    p.add_argument("--bid-micros", type=int)
    p.add_argument("--creative", action="append", help="creative id (repeatable; replaces the list)")
    _add_serving(p, creating=False)
    _add_targeting(p)
    p.add_argument("--run-of-store", action="store_true", help="clear all targeting")
    add_command(group, "pause", line_items_pause, "pause a line item").add_argument("id")
    add_command(
        group, "resume", line_items_resume, "resume a line item (not once its campaign has ended)"
    ).add_argument("id")
    add_command(group, "delete", line_items_delete, "delete a line item").add_argument("id")
