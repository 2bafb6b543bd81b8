"""The retry backoff shared by sync, asset fetches and uploads."""

from __future__ import annotations

import random

from edge_node.cloud_link.backoff import Backoff


def test_backoff_doubles_with_jitter_up_to_max() -> None:
    """Delays double from the initial value, are jittered into [base/2, base], and cap at the max."""
    backoff = Backoff(0.1, 0.4, random.Random(7))
    delays = [backoff.next_delay_s() for _ in range(5)]
    for delay, base in zip(delays, [0.1, 0.2, 0.4, 0.4, 0.4], strict=True):
        assert base / 2 <= delay <= base
    backoff.reset()
    assert backoff.next_delay_s() <= 0.1
