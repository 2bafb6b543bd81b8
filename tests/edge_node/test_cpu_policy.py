"""SCHED_BATCH for the serving processes (edge_node/cpu_policy.py)."""

from __future__ import annotations

import os
import threading

import pytest

from edge_node.cli import build_parser, config_from_args
from edge_node.cpu_policy import use_batch_scheduling

needs_sched_batch = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="no SCHED_BATCH on this platform")


def _runs_batch() -> bool:
    return os.sched_getscheduler(0) == os.SCHED_BATCH


def _in_thread(work: object) -> list[object]:
    # The policy is per thread: a thread of its own leaves the test process as it was.
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(work()))  # type: ignore[operator]
    thread.start()
    thread.join()
    return out


@needs_sched_batch
def test_batch_scheduling_applies_to_the_calling_thread() -> None:
    """After use_batch_scheduling the calling thread runs under SCHED_BATCH."""
    assert _in_thread(lambda: (use_batch_scheduling(), _runs_batch())) == [(True, True)]


@needs_sched_batch
def test_threads_started_afterwards_inherit_the_policy() -> None:
    """Threads started after the switch (gRPC's, the executor's) run under SCHED_BATCH too."""

    def switch_then_start() -> bool:
        use_batch_scheduling()
        return _in_thread(_runs_batch)[0] is True

    assert _in_thread(switch_then_start) == [True]


def test_batch_scheduling_is_on_by_default_and_can_be_turned_off() -> None:
    """cartads-edge serves under SCHED_BATCH unless --no-batch-scheduling is given."""
    base = ["--store", "s", "--cloud", "127.0.0.1:1"]
    assert config_from_args(build_parser().parse_args(base)).batch_scheduling is True
    off = build_parser().parse_args([*base, "--no-batch-scheduling"])
    assert config_from_args(off).batch_scheduling is False
