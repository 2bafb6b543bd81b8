"""``cartads-bench edge``: its h2load plumbing, and one real --quick run when h2load is installed."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime

import pytest

from cartads.bench.edge import throughput as edge
from cartads.bench.edge.fixture import add_learned_rates, build_edge_index
from cartads.bench.edge.h2load import grpc_body, h2load_path, percentile_ms
from cartads.bench.edge.servers import cpu_s
from cartads.index.version import content_version
from cartads.sample.instacart import load_catalog
from cartads.v1 import common_pb2
from cartads.v1.ad_service_pb2 import GetAdsRequest
from edge_node.index.view import build_view


def test_grpc_body_is_length_prefixed() -> None:
    """A gRPC body is 0x00, a 4-byte big-endian length, then the message."""
    message = GetAdsRequest(store_id="s", cart_id="c")
    body = grpc_body(message)
    assert body[0] == 0
    assert int.from_bytes(body[1:5], "big") == len(body) - 5
    assert GetAdsRequest.FromString(body[5:]) == message


def test_percentiles_are_nearest_rank_in_ms() -> None:
    """p50, p99 and p99.9 of microsecond latencies, in milliseconds, by nearest rank."""
    latencies = list(range(1, 1001))  # 1..1000 us
    assert (percentile_ms(latencies, 0.5), percentile_ms(latencies, 0.99), percentile_ms(latencies, 0.999)) == (
        0.5,
        0.99,
        0.999,
    )
    assert percentile_ms([], 0.99) == 0.0


def test_cpu_time_covers_the_process_tree() -> None:
    """The server CPU figure counts a process's own time (and that of its descendants)."""
    before = cpu_s([os.getpid()])
    sum(i * i for i in range(3_000_000))  # burn some CPU
    assert cpu_s([os.getpid()]) > before


def test_quick_run_reports_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    """A --quick run against the real edge and the floor prints one JSON object with every key, no errors."""
    if h2load_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("h2load (nghttp2-client) is required under CI")
        pytest.skip("h2load not installed (apt-get install nghttp2-client)")
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    edge.add_arguments(parser)
    assert edge.run(parser.parse_args(["--quick", "--json"])) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("floor_rps", "edge_rps", "throughput_ratio", "edge_p99_ms_at_500rps", "edge_rss_mb", "errors"):
        assert key in result
    assert result["errors"] == 0
    assert result["line_items"] == 5000
    assert result["products"] == 9288
    # The second floor is the same deployment without the work: as many processes as the edge has workers.
    assert result["floor_workers"] == result["edge_workers"] == 2
    # Edge and floors serve under SCHED_BATCH; one more floor shows the default policy.
    assert result["batch_scheduling"] is True
    servers = ("floor", "floor_parallel", "floor_default_policy", "edge")
    saturation = {name: result[name]["saturation"] for name in servers}
    for name, phase in saturation.items():
        # A --quick saturation phase lasts one second per request body: the rate is requests over that.
        assert phase["rps"] == pytest.approx(phase["requests"] / result["bodies"], rel=0.1), name
        # A request costs a Python gRPC server tenths of a millisecond of CPU, not micro- or whole seconds.
        assert 10 < phase["cpu_us_per_request"] < 10_000, name
    assert (result["floor_rps"], result["edge_rps"]) == (saturation["floor"]["rps"], saturation["edge"]["rps"])
    for name in servers[:-1]:
        # A floor counts every call it served, h2load's warm-up too, which h2load's totals leave out.
        assert result[name]["server_calls"] >= saturation[name]["requests"] + result[name]["open_loop"]["requests"]
    for name in servers[1:-1]:
        assert result[f"throughput_ratio_vs_{name}"] == round(result["edge_rps"] / result[f"{name}_rps"], 3)
    assert result["throughput_ratio"] == round(result["edge_rps"] / result["floor_rps"], 3)


def test_learned_rates_give_the_edge_one_ranking_per_trigger() -> None:
    """--learned-rates puts rates for every trigger on every line item, and the edge ranks each trigger apart."""
    index = build_edge_index(50, datetime.now(UTC), load_catalog())
    add_learned_rates(index)
    triggers = {t for t in common_pb2.Trigger.values() if t != common_pb2.TRIGGER_UNSPECIFIED}
    assert all({int(r.trigger) for r in li.trigger_rates} == triggers for li in index.line_items)
    assert set(build_view(index).trigger_views) == triggers
    assert index.version == content_version(index)  # an edge accepts it
