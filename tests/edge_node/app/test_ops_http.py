"""The edge's HTTP ops endpoint: metrics, liveness and readiness."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

from edge_node.app.server import start_edge
from tests.edge_node.helpers import edge_config


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_ops_endpoint_reports_not_ready_without_index(tmp_path: Path) -> None:
    """/healthz is 200, /readyz is 503 without an index, /metrics has the edge gauges (no cloud at
    port 1: the link is not ready; uploads start at their first batch size)."""
    edge = await start_edge(edge_config(tmp_path, 1, ops_listen_address="127.0.0.1:0"))
    try:
        base = f"http://127.0.0.1:{edge.ops_port}"
        assert await asyncio.to_thread(_get, f"{base}/healthz") == (200, "ok\n")
        status, _ = await asyncio.to_thread(_get, f"{base}/readyz")
        assert status == 503
        status, body = await asyncio.to_thread(_get, f"{base}/metrics")
        assert status == 200
        assert "cartads_edge_index_loaded 0.0" in body
        assert "cartads_edge_journal_depth 0.0" in body
        assert "cartads_edge_journal_unsent_bytes 0.0" in body
        assert "cartads_edge_loop_stall_max_ms" in body
        assert "cartads_edge_loop_stalls_over_50ms" in body
        assert "cartads_edge_cloud_link_ready 0.0" in body
        assert "cartads_edge_upload_batch_events 500.0" in body
    finally:
        await edge.stop(0.1)


async def test_no_ops_endpoint_unless_configured(tmp_path: Path) -> None:
    """Without ops_listen_address the edge opens no HTTP port."""
    edge = await start_edge(edge_config(tmp_path, 1))
    try:
        assert edge.ops_port is None
    finally:
        await edge.stop(0.1)
