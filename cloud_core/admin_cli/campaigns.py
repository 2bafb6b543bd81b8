"""``cartads-admin campaigns create|list|get|update|pause|resume|delete``."""

from __future__ import annotations

import argparse

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import (
    Stub,
    Subcommands,
    UsageError,
    add_command,
    add_group,
    given_paths,
    list_all,
    parse_time,
)
from cloud_core.admin_cli.output import emit

COLUMNS = ["campaign_id", "advertiser_id", "display_name", "state", "budget_micros", "start_time", "end_time"]
COLUMNS += ["click_through_window_s", "view_through_window_s"]
_WINDOW_HELP = (
    "sales attribution window in seconds after a {}: 0 = the same trip only (default), at most 1209600 (14 days)"
)

# Flag -> Campaign field, for campaigns update.
UPDATE_FLAGS = {
    "name": "display_name",
    "budget_micros": "budget_micros",
    "start": "start_time",
    "end": "end_time",
    "cap": "frequency_cap_per_session",
    "click_through_window_s": "click_through_window_s",
    "view_through_window_s": "view_through_window_s",
}


def campaigns_create(stub: Stub, args: argparse.Namespace) -> None:
    campaign = admin_pb2.Campaign(
        advertiser_id=args.advertiser,
        display_name=args.name,
        budget_micros=args.budget_micros,
        start_time=parse_time(args.start),
        end_time=parse_time(args.end),
        frequency_cap_per_session=args.cap,
        click_through_window_s=args.click_through_window_s,
        view_through_window_s=args.view_through_window_s,
        state=admin_pb2.SERVING_STATE_PAUSED if args.paused else admin_pb2.SERVING_STATE_ACTIVE,
    )
    req = admin_pb2.CreateCampaignRequest(campaign_id=args.id or "", campaign=campaign)
    emit(args, [stub.CreateCampaign(req).campaign], COLUMNS, single=True)


def campaigns_list(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListCampaignsRequest(page_size=1000, advertiser_id=args.advertiser or "")
    emit(args, list_all(stub.ListCampaigns, req, "campaigns"), COLUMNS)


def campaigns_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id=args.id)).campaign], COLUMNS, True)


def campaigns_update(stub: Stub, args: argparse.Namespace) -> None:
    campaign = admin_pb2.Campaign(
        campaign_id=args.id,
        display_name=args.name or "",
        budget_micros=args.budget_micros or 0,
        frequency_cap_per_session=args.cap or 0,
        click_through_window_s=args.click_through_window_s or 0,
        view_through_window_s=args.view_through_window_s or 0,
    )
    if args.start:
        campaign.start_time.CopyFrom(parse_time(args.start))
    if args.end:
        campaign.end_time.CopyFrom(parse_time(args.end))
    paths = given_paths(args, UPDATE_FLAGS)
    if not paths:
        raise UsageError(
            "nothing to update: give --name, --budget-micros, --start, --end, --cap, --click-through-window-s "
            "or --view-through-window-s"
        )
    req = admin_pb2.UpdateCampaignRequest(campaign=campaign, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateCampaign(req).campaign], COLUMNS, True)


def campaigns_pause(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.PauseCampaign(admin_pb2.PauseCampaignRequest(campaign_id=args.id)).campaign], COLUMNS, True)


def campaigns_resume(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.ResumeCampaign(admin_pb2.ResumeCampaignRequest(campaign_id=args.id)).campaign], COLUMNS, True)


def campaigns_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteCampaign(admin_pb2.DeleteCampaignRequest(campaign_id=args.id))
    print(f"deleted campaign {args.id}")


def register(root: Subcommands) -> None:
    group = add_group(root, "campaigns", "campaigns")
    p = add_command(group, "create", campaigns_create, "create a campaign")
    p.add_argument("--advertiser", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--budget-micros", type=int, required=True)
    p.add_argument("--start", required=True, help="flight start, ISO 8601 (UTC when no zone)")
    p.add_argument("--end", required=True, help="flight end, ISO 8601 (UTC when no zone)")
    p.add_argument("--cap", type=int, default=0, help="most ads of this campaign per cart session, 0 = no cap")
    p.add_argument("--click-through-window-s", type=int, default=0, help=_WINDOW_HELP.format("click"))
    p.add_argument("--view-through-window-s", type=int, default=0, help=_WINDOW_HELP.format("viewable impression"))
    p.add_argument("--paused", action="store_true", help="create it paused")
    p.add_argument("--id")
    add_command(group, "list", campaigns_list, "list campaigns").add_argument("--advertiser")
    add_command(group, "get", campaigns_get, "show one campaign").add_argument("id")
    p = add_command(group, "update", campaigns_update, "change a campaign")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--budget-micros", type=int)
    p.add_argument("--start")
    p.add_argument("--end")
    p.add_argument("--cap", type=int, help="most ads of this campaign per cart session, 0 = no cap")
    p.add_argument("--click-through-window-s", type=int, help=_WINDOW_HELP.format("click"))
    p.add_argument("--view-through-window-s", type=int, help=_WINDOW_HELP.format("viewable impression"))
    add_command(group, "pause", campaigns_pause, "pause a campaign").add_argument("id")
    add_command(group, "resume", campaigns_resume, "resume a campaign (not once it has ended)").add_argument("id")
    add_command(group, "delete", campaigns_delete, "delete a campaign without line items").add_argument("id")
