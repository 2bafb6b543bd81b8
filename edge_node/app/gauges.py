"""The edge's own gauges on its ops endpoint: index, cloud link, journal, uploads and the event loop,
each read from the running parts at scrape time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cartads.ops.http import CallbackGauges

if TYPE_CHECKING:
    from edge_node.app.server import EdgeServer
    from edge_node.cloud_link.link import CloudLink
    from edge_node.events.journal import Journal
    from edge_node.events.pipeline import EventPipeline
    from edge_node.events.uploader import Uploader
    from edge_node.index.holder import ViewHolder


def edge_gauges(
    edge: EdgeServer,
    *,
    holder: ViewHolder,
    link: CloudLink,
    journal: Journal,
    events: EventPipeline,
    uploader: Uploader,
) -> CallbackGauges:
    """Every gauge of one edge (names are what dashboards and the benchmarks read)."""
    return CallbackGauges(
        [
            ("cartads_edge_index_loaded", "1 when an index is held", lambda: float(bool(holder.version))),
            (
                "cartads_edge_cloud_link_ready",
                "1 while the channel to the cloud holds a working connection (HTTP/2 keepalive answered)",
                lambda: float(link.ready),
            ),
            ("cartads_edge_journal_depth", "events journaled and not yet acknowledged", journal.depth),
            (
                "cartads_edge_journal_unsent_bytes",
                "bytes of events journaled and not yet acknowledged (the journal's limits count these)",
                journal.unsent_bytes,
            ),
            (
                "cartads_edge_loop_stall_max_ms",
                "the longest the event loop was kept from running callbacks since start (ms)",
                lambda: edge.loop_stalls.max_ms,
            ),
            (
                "cartads_edge_loop_stalls_over_50ms",
                "event loop stalls of at least 50 ms (a cart's GetAds deadline) since start",
                lambda: float(edge.loop_stalls.count_over(50)),
            ),
            (
                "cartads_edge_loop_busy_stall_max_ms",
                "the longest event loop stall since start not counting the loop thread's wait for a CPU "
                "(ms): what the edge held its own loop for",
                lambda: edge.loop_stalls.busy_max_ms,
            ),
            (
                "cartads_edge_loop_busy_stalls_over_50ms",
                "event loop stalls of at least 50 ms since start not counting the wait for a CPU",
                lambda: float(edge.loop_stalls.count_busy_over(50)),
            ),
            (
                "cartads_edge_gc_pause_max_ms",
                "the longest garbage collection since start (ms): the loop stands still meanwhile",
                edge.gc_pauses.longest_ms,
            ),
            (
                "cartads_edge_gc_full_collections",
                "full (generation 2) garbage collections since start",
                lambda: float(edge.gc_pauses.counts.get(2, 0)),
            ),
            (
                "cartads_edge_journal_quarantined",
                "journal entries that did not parse, set aside instead of uploaded",
                journal.quarantined,
            ),
            (
                "cartads_edge_journal_oldest_unsent_age_seconds",
                "how long the oldest unacknowledged event has waited",
                events.oldest_unsent_age_s,
            ),
            (
                "cartads_edge_upload_lag_seconds",
                "time since the cloud last acknowledged an upload while events wait",
                events.upload_lag_s,
            ),
            (
                "cartads_edge_upload_batch_events",
                "events the next upload may carry (grows on a quick uplink, shrinks on a slow one)",
                lambda: float(uploader.batch_size),
            ),
            (
                "cartads_edge_paid_ads_allowed",
                "0 while journal pushback serves house ads only",
                lambda: float(events.paid_ads_allowed()),
            ),
            (
                "cartads_edge_journal_commits",
                "group commits of the journal",
                lambda: float(events.committer.commits),
            ),
        ]
    )
