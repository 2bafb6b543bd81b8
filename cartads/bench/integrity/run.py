"""``cartads-bench integrity``: honest carts and rogue devices in one run, then an audit of the ledger.

One real cloud and one real edge (gRPC on loopback, the cloud's database in SQLite or PostgreSQL)
serve the demo's store and advertisers. Honest carts replay real Instacart trips with enrolled
credentials while five attackers, each in its own process, do what ``attacks`` describes. When
the edge's journal has drained, the bench reads the ledger per cart and prints the audit:
``rogue_spend_billed_micros`` (target 0), ``honest_billed_equals_reported`` (target true), the
invalid-traffic rate, the dead letters by reason, whether the edge was flagged, and
``auth_throughput_ratio``: GetAds throughput with cart authentication against the same edge without.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from cartads.bench.edge.auth_ratio import auth_throughput_ratio
from cartads.bench.integrity.attacks import ATTACKS, Target
from cartads.bench.integrity.audit import BilledRow, HonestReport, audit
from cartads.bench.integrity.stage import Stage, open_stage
from cartads.bench.integrity.tally import AttackTally
from cartads.event_loop import loop_factory
from cartads.ops.logs import configure_logging

DESCRIPTION = "honest carts and rogue devices against one cloud and edge: rogue spend billed (target 0) and more"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench integrity``."""
    parser.add_argument("--carts", type=int, default=6, help="honest carts (default 6)")
    parser.add_argument("--trips", type=int, default=18, help="honest trips replayed (default 18)")
    parser.add_argument("--seed", type=int, default=11, help="which trips (default 11)")
    parser.add_argument("--flood-s", type=float, default=5.0, help="how long the journal flood lasts (default 5)")
    parser.add_argument("--db", default="", help="the cloud's database URL (default: SQLite in a temporary directory)")
    parser.add_argument(
        "--auth-phase-s",
        type=float,
        default=2.0,
        help="seconds of h2load per request body and side of auth_throughput_ratio (default 2; 0 skips it)",
    )


async def _attack(name: str, target_file: Path) -> AttackTally:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cartads.bench.integrity.rogue",
        name,
        str(target_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"attacker {name} failed ({process.returncode}): {err.decode()[-2000:]}")
    return AttackTally.from_dict(json.loads(out.decode().strip().splitlines()[-1]))


async def run_attacks(stage: Stage, target: Target, work: Path) -> list[AttackTally]:
    """Every attacker in its own process, all at once, while the honest carts shop."""
    target_file = work / "target.json"
    target_file.write_text(json.dumps(dataclasses.asdict(target)))
    return list(await asyncio.gather(*(_attack(name, target_file) for name in ATTACKS)))


async def integrity(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cartads-integrity-") as tmp:
        work = Path(tmp)
        async with open_stage(work, db_url=args.db, carts=args.carts) as stage:
            target = dataclasses.replace(stage.target, flood_s=args.flood_s)
            honest_task = asyncio.create_task(stage.shop(trips=args.trips, seed=args.seed))
            rogues = await run_attacks(stage, target, work)
            honest = await honest_task
            checks = await stage.settle()
            billed = [BilledRow(*row) for row in await stage.billed_by_cart()]
            result = audit(
                HonestReport(
                    cart_ids=frozenset(stage.honest_cart_ids),
                    impressions_reported=honest.impressions_reported,
                    clicks_reported=honest.clicks_reported,
                    ads_served=honest.ads_served,
                    requests=honest.ad_requests,
                ),
                billed,
                rogues,
            )
            result.update(checks)
    if args.auth_phase_s > 0:
        # Two more edges in their own processes, alike but for cart authentication, under h2load.
        auth = await asyncio.to_thread(auth_throughput_ratio, phase_s=args.auth_phase_s)
        result.update(auth)
    return result


def _print_table(result: dict[str, Any]) -> None:
    for key, value in result.items():
        if key != "attacks":
            print(f"{key:<34} {value}")
    for name, tally in result["attacks"].items():
        sent = f"sent {tally['events_sent']:>7} events in {tally['calls']:>5} calls"
        print(f"  {name:<20} {sent}; refused {tally['refused']}")


def run(args: argparse.Namespace) -> int:
    # Stdout carries the result alone; the servers' own lines go to stderr, warnings and worse only.
    configure_logging(level="WARNING")
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result = runner.run(integrity(args))
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        _print_table(result)
    ok = result["rogue_spend_billed_micros"] == 0 and result["honest_billed_equals_reported"]
    return 0 if ok else 1
