"""The h2load phases of ``cartads-bench edge``: how long each runs, driving every server through
them (interleaved, so that drift on a noisy machine hits floor and edge alike), and their totals.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cartads.bench.edge.h2load import LoadResult, percentile_ms, run_h2load
from cartads.bench.edge.servers import GET_ADS_PATH, cpu_s


@dataclass
class Totals:
    """One server's h2load runs of one mode, added up."""

    duration_s: float = 0.0
    succeeded: int = 0
    failed: int = 0
    latencies_us: list[int] = field(default_factory=list)
    # CPU seconds the server's processes used during these phases.
    cpu_s: float = 0.0

    def add(self, result: LoadResult) -> None:
        """Count one more run."""
        self.duration_s += result.duration_s
        self.succeeded += result.succeeded
        self.failed += result.failed
        self.latencies_us.extend(result.latencies_us)

    @property
    def rps(self) -> float:
        """Successful requests per second over every run."""
        return self.succeeded / self.duration_s if self.duration_s > 0 else 0.0

    def summary(self) -> dict[str, float]:
        """The figures ``--json`` prints for this server and mode."""
        lat = self.latencies_us
        return {
            "rps": round(self.rps, 1),
            "p50_ms": percentile_ms(lat, 0.5),
            "p99_ms": percentile_ms(lat, 0.99),
            "p999_ms": percentile_ms(lat, 0.999),
            "requests": self.succeeded,
            "h2load_failed": self.failed,
            "cpu_us_per_request": round(self.cpu_s / self.succeeded * 1e6, 1) if self.succeeded else 0.0,
        }


@dataclass(frozen=True)
class PhasePlan:
    """How long each h2load phase runs, per request body."""

    saturation_phase_s: float
    open_loop_phase_s: float
    warm_up_s: float


def plan_phases(args: argparse.Namespace, bodies: int) -> PhasePlan:
    """Short phases with ``--quick``; otherwise each mode's seconds shared out among the bodies."""
    if args.quick:
        return PhasePlan(saturation_phase_s=1.0, open_loop_phase_s=1.0, warm_up_s=0.2)
    return PhasePlan(args.saturation_s / bodies, args.open_loop_s / bodies, warm_up_s=0.5)


def drive(
    work: Path,
    *,
    ports: dict[str, int],
    pids: dict[str, list[int]],
    body_files: Sequence[Path],
    args: argparse.Namespace,
    plan: PhasePlan,
) -> dict[str, dict[str, Totals]]:
    """Every server (by name, on its port) at saturation, then open loop, one phase per body; each
    server's totals by mode, with its processes' (``pids``) CPU time at saturation."""
    totals = {name: {"saturation": Totals(), "open_loop": Totals()} for name in ports}
    clients_open = args.open_loop_clients
    for body in body_files:
        for name, port in ports.items():  # interleaved: drift hits floor and edge alike
            cpu_before = cpu_s(pids[name])
            result = run_h2load(
                url=f"http://127.0.0.1:{port}{GET_ADS_PATH}",
                body_file=body,
                log_file=work / f"h2load-{name}.log",
                duration_s=plan.saturation_phase_s,
                clients=args.clients,
                streams=args.streams,
                warm_up_s=plan.warm_up_s,
            )
            # The warm-up's CPU is in this figure too; its requests are not: scaled to the measured window.
            used_s = cpu_s(pids[name]) - cpu_before
            window = result.duration_s / (result.duration_s + plan.warm_up_s) if result.duration_s > 0 else 0.0
            totals[name]["saturation"].cpu_s += used_s * window
            totals[name]["saturation"].add(result)
    for body in body_files:
        for name, port in ports.items():
            result = run_h2load(
                url=f"http://127.0.0.1:{port}{GET_ADS_PATH}",
                body_file=body,
                log_file=work / f"h2load-{name}.log",
                duration_s=plan.open_loop_phase_s,
                clients=clients_open,
                streams=args.open_loop_streams,
                rps_per_client=max(1, args.rate // clients_open),
                warm_up_s=plan.warm_up_s,
            )
            totals[name]["open_loop"].add(result)
    return totals


__all__ = ["PhasePlan", "Totals", "drive", "plan_phases"]
