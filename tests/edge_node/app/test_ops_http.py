"""The edge's HTTP ops endpoint: metrics, liveness and readiness."""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.error
import urllib.request
from pathlib import Path

from edge_node.app.server import start_edge
from edge_node.config import EdgeConfig


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_ops_endpoint_reports_not_ready_without_index(tmp_path: Path) -> None:
    """/healthz is 200, /readyz is 503 without an index, /metrics has the edge gauges."""
    config = EdgeConfig(
        store_id="s1",
        edge_id="e1",
        cloud_address="127.0.0.1:1",
        data_dir=str(tmp_path),
        listen_address="127.0.0.1:0",
        ops_listen_address="127.0.0.1:0",
    )
    edge = await start_edge(config)
    try:
        base = f"http://127.0.0.1:{edge.ops_port}"
        assert await asyncio.to_thread(_get, f"{base}/healthz") == (200, "ok\n")
        status, _ = await asyncio.to_thread(_get, f"{base}/readyz")
        assert status == 503
        status, body = await asyncio.to_thread(_get, f"{base}/metrics")
        assert status == 200
        assert "cartads_edge_index_loaded 0.0" in body
        assert "cartads_edge_journal_depth 0.0" in body
    finally:
        await edge.stop(0.1)


async def test_no_ops_endpoint_unless_configured(tmp_path: Path) -> None:
    """Without ops_listen_address the edge opens no HTTP port."""
    config = EdgeConfig(
        store_id="s1", edge_id="e1", cloud_address="127.0.0.1:1", data_dir=str(tmp_path), listen_address="127.0.0.1:0"
    )
    edge = await start_edge(dataclasses.replace(config))
    try:
        assert edge.ops_port is None
    finally:
        await edge.stop(0.1)
