"""Per-session serving state and the worker split of one edge."""

from __future__ import annotations

from edge_node.app.workers import worker_config
from edge_node.config import EdgeConfig
from edge_node.serving.local_state import SessionFrequency


def test_record_ads_counts_every_level() -> None:
    """Recorded ads count per line item, creative and campaign, with the trip's total and last time."""
    frequency = SessionFrequency(max_sessions=10)
    frequency.record_ads("cart", "s", [("li-1", "cr-1", "c-1"), ("li-2", "cr-1", "c-1")], 5_000)
    session = frequency.session("cart", "s")
    assert dict(session.line_items) == {"li-1": 1, "li-2": 1}
    assert dict(session.creatives) == {"cr-1": 2}
    assert dict(session.campaigns) == {"c-1": 2}
    assert (session.ads_served, session.last_ad_unix_ms) == (2, 5_000)


def test_unknown_session_is_empty() -> None:
    """A session never served has no counts and no last ad."""
    session = SessionFrequency(max_sessions=10).session("cart", "new")
    assert (dict(session.line_items), session.ads_served, session.last_ad_unix_ms) == ({}, 0, None)


def test_oldest_session_is_forgotten() -> None:
    """Beyond max_sessions the least recently served session is dropped."""
    frequency = SessionFrequency(max_sessions=2)
    for session_id in ("a", "b", "c"):
        frequency.record_ads("cart", session_id, [("li", "cr", "c")], 1)
    assert frequency.session("cart", "a").ads_served == 0
    assert frequency.session("cart", "c").ads_served == 1


def test_worker_config_splits_dirs_ids_and_budget() -> None:
    """Each worker gets its own data dir and edge id, shares the port, and spends its share of budgets."""
    base = EdgeConfig(store_id="s", edge_id="edge-s", cloud_address="c:1", data_dir="/d")
    worker = worker_config(base, 1, 4)
    assert (worker.data_dir, worker.edge_id, worker.reuse_port, worker.budget_share) == (
        "/d/worker-1",
        "edge-s-w1",
        True,
        0.25,
    )


def test_worker_config_splits_the_journal_limits() -> None:
    """The store's journal budget in bytes is shared by the workers, and each map still holds twice its limit."""
    base = EdgeConfig(store_id="s", edge_id="edge-s", cloud_address="c:1", data_dir="/d")
    worker = worker_config(base, 0, 4)
    assert worker.journal_soft_limit_bytes * 4 == base.journal_soft_limit_bytes
    assert worker.journal_hard_limit_bytes * 4 == base.journal_hard_limit_bytes
    assert worker.journal_map_size_bytes >= 2 * worker.journal_hard_limit_bytes
