"""What authenticating every cart costs the edge: GetAds throughput with cart authentication on
against the same edge with it off (``auth_throughput_ratio``, target >= 0.9).

Both edges serve the same index from copies of one data directory, with the same workers and
scheduling; only ``--no-cart-auth-benchmark-baseline`` differs. Their h2load phases alternate body
by body, so drift on a noisy machine hits both. Every request carries an enrolled cart's
credential (the baseline ignores it), and success is counted from each edge's request log, since
h2load counts gRPC failures as successes. The integrity benchmark reuses ``auth_throughput_ratio``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cartads.bench.edge.fixture import build_edge_index, build_requests, enroll_bench_carts
from cartads.bench.edge.h2load import grpc_body, percentile_ms, run_h2load
from cartads.bench.edge.phases import Totals
from cartads.bench.edge.servers import GET_ADS_PATH, edge_log_counts, free_port, prepare_edge_dirs, start_edge, stop
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.index_pb2 import StoreIndex

TARGET = 0.9
_MODES = {"auth_on": True, "auth_off": False}


def measure_auth_ratio(
    work: Path,
    index: StoreIndex,
    requests: Sequence[GetAdsRequest],
    *,
    phase_s: float = 2.0,
    warm_up_s: float = 0.5,
    workers: int = 1,
    clients: int = 16,
    streams: int = 4,
    batch: bool = True,
    helper_nice: int = 10,
) -> dict[str, object]:
    """Saturation throughput of the edge serving ``index`` with cart authentication on and off,
    ``phase_s`` per request body and mode; ``requests`` must carry enrolled credentials."""
    bodies = []
    for k, request in enumerate(requests):
        path = work / f"auth-body-{k}.bin"
        path.write_bytes(grpc_body(request))
        bodies.append(path)
    ports = {mode: free_port() for mode in _MODES}
    edges = {}
    try:
        for mode, cart_auth in _MODES.items():
            prepare_edge_dirs(work / mode, workers, index.SerializeToString())
            edges[mode] = start_edge(
                work / mode,
                port=ports[mode],
                workers=workers,
                log_path=work / f"{mode}.log",
                batch=batch,
                helper_nice=helper_nice,
                cart_auth=cart_auth,
            )
        totals = {mode: Totals() for mode in _MODES}
        for body in bodies:
            for mode, port in ports.items():  # interleaved: drift hits both alike
                totals[mode].add(
                    run_h2load(
                        url=f"http://127.0.0.1:{port}{GET_ADS_PATH}",
                        body_file=body,
                        log_file=work / f"h2load-{mode}.log",
                        duration_s=phase_s,
                        clients=clients,
                        streams=streams,
                        warm_up_s=warm_up_s,
                    )
                )
    finally:
        for proc in edges.values():
            stop(proc)
    errors = {mode: edge_log_counts(work / f"{mode}.log")[1] for mode in _MODES}
    on, off = totals["auth_on"], totals["auth_off"]
    ratio = on.rps / off.rps if off.rps > 0 else 0.0
    return {
        "auth_on_rps": round(on.rps, 1),
        "auth_off_rps": round(off.rps, 1),
        "auth_throughput_ratio": round(ratio, 3),
        "auth_on_p99_ms": percentile_ms(on.latencies_us, 0.99),
        "auth_off_p99_ms": percentile_ms(off.latencies_us, 0.99),
        "auth_target": TARGET,
        "auth_errors": errors["auth_on"] + errors["auth_off"] + on.failed + off.failed,
    }


def auth_throughput_ratio(
    *, line_items: int = 5000, bodies: int = 2, max_ads: int = 2, phase_s: float = 2.0, workers: int = 1
) -> dict[str, object]:
    """The whole measurement from nothing (the benchmark store, bodies from real baskets, carts
    enrolled): what the integrity benchmark calls; see ``measure_auth_ratio`` for the figures."""
    catalog = load_catalog()
    index = build_edge_index(line_items, datetime.now(UTC), catalog)
    requests = build_requests(load_orders(), catalog, bodies, max_ads)
    enroll_bench_carts(index, requests)
    with tempfile.TemporaryDirectory(prefix="cartads-bench-auth-") as tmp:
        return measure_auth_ratio(Path(tmp), index, requests, phase_s=phase_s, workers=workers)


__all__ = ["TARGET", "auth_throughput_ratio", "measure_auth_ratio"]
