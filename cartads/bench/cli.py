"""``cartads-bench``: one subcommand per benchmark; each module registers its own arguments."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Protocol, cast

# Subcommand name -> the module that defines add_arguments(parser) and run(args) -> int.
BENCHMARKS: dict[str, str] = {
    "edge": "cartads.bench.edge.throughput",
    "sync": "cartads.bench.cloud.sync",
    "events": "cartads.bench.cloud.events",
    "cart": "cartads.bench.cart",
    "economics": "cartads.bench.economics",
    "cloud": "cartads.bench.cloud.compile",
    "integrity": "cartads.bench.integrity.run",
    "soak": "cartads.bench.soak.run",
    "store-day": "cartads.bench.store_day.run",
    "partition": "cartads.bench.netfault.bench",
    "fleet": "cartads.bench.fleet.run",
}


class Benchmark(Protocol):
    """What a benchmark module provides."""

    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(module: str) -> Benchmark:
    return cast(Benchmark, importlib.import_module(module))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cartads-bench",
        description="CartAds benchmarks. Each prints a table, or one JSON object with --json, "
        "and measures its baseline in the same run so the ratios hold on a noisy machine.",
    )
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, module in BENCHMARKS.items():
        bench = _load(module)
        child = sub.add_parser(name, help=bench.DESCRIPTION, description=bench.DESCRIPTION)
        child.add_argument("--json", action="store_true", help="print one JSON object")
        bench.add_arguments(child)
        child.set_defaults(run=bench.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
