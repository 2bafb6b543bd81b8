"""``cartads-bench partition``: an edge and a cloud across a faulty link (cartads/bench/netfault), with
cart load. Measures how soon a silent partition is seen, how soon uploads and index sync resume
after a heal, how fast a backlog drains over a slow lossy uplink, and that billing held exactly.

Phases, each with the enrolled carts replaying real orders:
1. clean link: the carts' own event rate (``carts_events_per_s``);
2. black hole for ``--outage-s``: ``partition_detected_s`` (edge metrics say disconnected) and
   ``partition_detected_cloud_s`` (the cloud's edge status says so); an admin change is made at the
   cloud's end during it; after the heal ``heal_to_upload_s`` (journal empty) and ``heal_to_index_s``
   (the change served);
3. another outage builds a backlog (the carts' trips, plus ``--backlog-per-cart`` basket adds from
   each cart, within its burst: the carts' own pace would take many minutes to build one worth
   timing), then the uplink turns slow and lossy (``--lossy-delay-ms`` +-
   ``--lossy-jitter-ms``, ``--lossy-loss``, edge -> cloud; cloud -> edge clean):
   ``lossy_uplink_events_per_s`` is the backlog's drain rate;
4. clean again, everything drained: ``billed_equals_reported`` (impressions and clicks the carts
   had acknowledged, against the cloud's spend report).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cart_client.app.runner import TripStats
from cartads.bench.netfault.policy import CLEAN, LinkPolicy
from cartads.bench.netfault.stage import PartitionStage, open_stage, until
from cartads.bench.netfault.tun import NetfaultUnavailableError, why_unavailable

DESCRIPTION = "silent partition, heal and lossy uplink between a cloud and an edge process (needs root)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench partition``."""
    parser.add_argument("--carts", type=int, default=8, help="simulated carts (default 8)")
    parser.add_argument("--trips", type=int, default=16, help="trips replayed per phase (default 16)")
    parser.add_argument("--outage-s", type=float, default=30.0, help="length of the black hole (default 30)")
    parser.add_argument("--lossy-delay-ms", type=float, default=300.0, help="uplink one-way delay (default 300)")
    parser.add_argument("--lossy-jitter-ms", type=float, default=100.0, help="uplink jitter (default 100)")
    parser.add_argument("--lossy-loss", type=float, default=0.10, help="uplink packet loss (default 0.10)")
    parser.add_argument("--lossy-max-s", type=float, default=120.0, help="longest lossy drain measured (default 120)")
    parser.add_argument(
        "--backlog-per-cart",
        type=int,
        default=1500,
        help="basket adds each cart adds to the lossy backlog (default 1500)",
    )
    parser.add_argument("--seed", type=int, default=3, help="which trips, and the link's random source")


async def _shop(stage: PartitionStage, trips: int, seed: int, totals: list[TripStats]) -> TripStats:
    stats = await stage.shop(trips=trips, seed=seed)
    totals.append(stats)
    return stats


async def _outage(stage: PartitionStage, args: argparse.Namespace, totals: list[TripStats]) -> dict[str, float]:
    held = stage.index_version()
    stage.link.partition()
    started = time.monotonic()
    detected_s = await until(lambda: not stage.edge_says_connected(), timeout_s=120)
    cloud_s = await until(lambda: not stage.cloud_says_connected(), timeout_s=120) + detected_s
    await _shop(stage, args.trips, args.seed + 1, totals)
    await stage.change_at_far_end()
    await asyncio.sleep(max(0.0, args.outage_s - (time.monotonic() - started)))  # the outage lasts its length
    stage.link.heal()
    uploaded = asyncio.create_task(until(lambda: stage.journal_depth() == 0, timeout_s=120))
    synced = asyncio.create_task(until(lambda: stage.index_version() != held, timeout_s=120))
    return {
        "partition_detected_s": round(detected_s, 2),
        "partition_detected_cloud_s": round(cloud_s, 2),
        "heal_to_upload_s": round(await uploaded, 2),
        "heal_to_index_s": round(await synced, 2),
    }


def _upload_failures(stage: PartitionStage) -> int:
    return sum('"upload failed, retrying"' in line for line in stage.edge.lines())


async def _lossy(stage: PartitionStage, args: argparse.Namespace, totals: list[TripStats]) -> dict[str, float]:
    stage.link.partition()
    await until(lambda: not stage.edge_says_connected(), timeout_s=120)
    await _shop(stage, args.trips, args.seed + 2, totals)
    basket_adds = await stage.fill_journal(args.backlog_per_cart)
    backlog = stage.journal_depth()
    lossy = LinkPolicy(delay_ms=args.lossy_delay_ms, jitter_ms=args.lossy_jitter_ms, loss=args.lossy_loss)
    failures_before = _upload_failures(stage)
    stage.link.set(up=lossy, down=CLEAN)
    started = time.monotonic()
    # Past the time allowed, the rate is what drained in it.
    with contextlib.suppress(TimeoutError):
        await until(lambda: stage.journal_depth() == 0, timeout_s=args.lossy_max_s, interval_s=0.2)
    elapsed_s = time.monotonic() - started
    drained = backlog - stage.journal_depth()
    stage.link.heal()
    return {
        "lossy_backlog_events": int(backlog),
        "lossy_backlog_basket_adds": basket_adds,
        "lossy_uplink_events_per_s": round(drained / elapsed_s, 1),
        "lossy_upload_failures": _upload_failures(stage) - failures_before,
    }


async def _billing(stage: PartitionStage, totals: list[TripStats]) -> dict[str, Any]:
    await until(lambda: stage.journal_depth() == 0, timeout_s=120)
    total = TripStats.total(totals)
    report, dead_letters = await stage.spend_report()
    impressions = sum(c.impressions for c in report.campaigns)
    clicks = sum(c.clicks for c in report.campaigns)
    return {
        "impressions_reported": total.impressions_reported,
        "clicks_reported": total.clicks_reported,
        "impressions_billed": impressions,
        "clicks_billed": clicks,
        "dead_letters_by_reason": dead_letters,
        "billed_equals_reported": impressions == total.impressions_reported and clicks == total.clicks_reported,
    }


async def partition(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    totals: list[TripStats] = []
    async with open_stage(work, carts=args.carts, seed=args.seed) as stage:
        started = time.monotonic()
        clean = await _shop(stage, args.trips, args.seed, totals)
        result: dict[str, Any] = {"carts_events_per_s": round(clean.events_reported / (time.monotonic() - started), 1)}
        result |= await _outage(stage, args, totals)
        result |= await _lossy(stage, args, totals)
        result |= await _billing(stage, totals)
        result["edge_log_stream_ends"] = sum('"index stream ended"' in line for line in stage.edge.lines())
        result["cloud_log_stream_ends"] = sum('"index_stream_end"' in line for line in stage.cloud.lines())
    return result


def run(args: argparse.Namespace) -> int:
    reason = why_unavailable()
    if reason is not None:
        print(f"cartads-bench partition: {reason}")
        return 2
    with tempfile.TemporaryDirectory(prefix="cartads-partition-") as tmp:
        try:
            result = asyncio.run(partition(args, Path(tmp)))
        except NetfaultUnavailableError as exc:
            print(f"cartads-bench partition: {exc}")
            return 2
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:<28} {value}")
    return 0 if result["billed_equals_reported"] else 1
