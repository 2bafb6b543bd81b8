"""Index sync metrics for the edge's /metrics: version served, connected, seconds since last sync."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge_node.sync.client import SyncClient


class SyncMetrics(Collector):
    """Read at scrape time from the sync client and the version being served."""

    def __init__(self, client: SyncClient, version: Callable[[], str]) -> None:
        self._client = client
        self._version = version

    def collect(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "cartads_edge_index_version_info",
            "the index version served (label), 1 while one is held",
            labels=["version"],
        )
        version = self._version()
        if version:
            info.add_metric([version], 1.0)
        yield info
        state = self._client.state
        yield GaugeMetricFamily(
            "cartads_edge_index_connected",
            "1 while the index stream to the cloud is open",
            value=float(state.connected),
        )
        yield GaugeMetricFamily(
            "cartads_edge_index_seconds_since_sync",
            "0 while connected; otherwise seconds since the index was last known current",
            value=state.seconds_since_sync(),
        )
        yield CounterMetricFamily(
            "cartads_edge_index_updates_applied", "index updates applied and ACKed", value=self._client.updates_applied
        )
        yield CounterMetricFamily(
            "cartads_edge_index_updates_rejected", "index updates NACKed", value=self._client.updates_rejected
        )
