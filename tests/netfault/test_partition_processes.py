"""A store's uplink failing silently, with real processes: ``cartads-cloud`` in a namespace of its own,
``cartads-edge`` reaching it only across a faulty link (cartads/bench/netfault), carts replaying
real orders against the edge. Deadlines are wall-clock promises, so these run as latency tests."""

from __future__ import annotations

import asyncio
import time

import pytest

from cartads.bench.netfault.policy import LinkPolicy
from cartads.bench.netfault.stage import PartitionStage, until

pytestmark = [pytest.mark.latency, pytest.mark.timeout(180)]

DETECT_WITHIN_S = 10.0
RESUME_WITHIN_S = 2.0


def _lines_after(lines: list[str], marker: str, count_before: int) -> list[str]:
    return [line for line in lines[count_before:] if marker in line]


async def test_a_silent_partition_is_seen_by_edge_and_cloud_within_10_s(stage: PartitionStage) -> None:
    """A black hole (no reset, no ICMP): the edge's metrics and the cloud's edge status both say
    disconnected within 10 s, and each side logs the stream's end with its reason."""
    edge_lines, cloud_lines = len(stage.edge.lines()), len(stage.cloud.lines())
    assert stage.edge_says_connected()
    assert stage.cloud_says_connected()
    stage.link.partition()
    started = time.monotonic()
    await until(lambda: not stage.edge_says_connected(), timeout_s=DETECT_WITHIN_S)
    await until(lambda: not stage.cloud_says_connected(), timeout_s=DETECT_WITHIN_S - (time.monotonic() - started))
    assert stage.metric("cartads_edge_cloud_link_ready") == 0.0
    [edge_end, *_] = _lines_after(stage.edge.lines(), '"index stream ended"', edge_lines)
    assert '"code": "UNAVAILABLE"' in edge_end
    [cloud_end] = _lines_after(stage.cloud.lines(), '"index_stream_end"', cloud_lines)
    assert "connection was lost" in cloud_end


async def test_after_a_heal_uploads_and_index_sync_resume_within_2_s(stage: PartitionStage) -> None:
    """Events journaled and an admin change made during a 15 s outage reach the cloud and the edge
    within 2 s of the heal (backoffs had grown for 15 s)."""
    held = stage.index_version()
    stage.link.partition()
    partitioned = time.monotonic()
    await until(lambda: not stage.edge_says_connected(), timeout_s=DETECT_WITHIN_S)
    stats = await stage.shop(trips=2, seed=5)
    await stage.change_at_far_end()
    assert stats.events_reported > 0
    assert stage.journal_depth() > 0
    await asyncio.sleep(max(0.0, 15.0 - (time.monotonic() - partitioned)))  # the outage's length
    stage.link.heal()
    uploaded = asyncio.create_task(until(lambda: stage.journal_depth() == 0, timeout_s=30))
    synced = asyncio.create_task(until(lambda: stage.index_version() != held, timeout_s=30))
    heal_to_upload_s, heal_to_index_s = await uploaded, await synced
    assert heal_to_upload_s <= RESUME_WITHIN_S
    assert heal_to_index_s <= RESUME_WITHIN_S
    assert stage.edge_says_connected()


async def test_over_a_flapping_lossy_link_every_reported_ad_event_is_billed_once(stage: PartitionStage) -> None:
    """Carts shop while the link flaps (up 3 s, down 4 s) with 10% loss and 100 +- 50 ms each way; once
    it is clean again, the cloud has billed exactly the impressions and clicks the edge acknowledged."""
    bad = LinkPolicy(loss=0.1, delay_ms=100, jitter_ms=50, flap_up_s=3.0, flap_down_s=4.0)
    stage.link.set(up=bad, down=bad)
    stats = await stage.shop(trips=4, seed=9)
    stage.link.heal()
    await until(lambda: stage.journal_depth() == 0, timeout_s=30)
    report, dead_letters = await stage.spend_report()
    assert stats.impressions_reported > 0
    assert sum(c.impressions for c in report.campaigns) == stats.impressions_reported
    assert sum(c.clicks for c in report.campaigns) == stats.clicks_reported
    assert dead_letters == {}
