"""Several edge worker processes serving one port (SO_REUSEPORT), for more than one core.

Consistency model, and why it is enough for carts:
- The kernel spreads *connections*, not requests, over the workers. A cart keeps one HTTP/2
  connection for its trip, so all of a session's requests reach one worker, whose in-memory
  counts enforce the session's frequency caps, ads-per-trip cap and ad interval exactly. Only if a
  cart reconnects mid-trip and lands on another worker can that worker start the session afresh:
  caps are then enforced per worker (at most ``workers`` times the cap in that rare case).
- Budgets cannot rely on that: every worker may spend only ``1 / workers`` of each line item's
  allowance, so together they never exceed it (they may underspend when traffic is uneven).
- Each worker syncs the index, journals events and uploads them on its own (its own data
  directory and edge id ``<edge-id>-w<i>``), so the exactly-once path is unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from edge_node.config import EdgeConfig


def worker_config(config: EdgeConfig, index: int, count: int) -> EdgeConfig:
    """Worker ``index`` of ``count``: its own data directory and edge id, the shared port."""
    return dataclasses.replace(
        config,
        edge_id=f"{config.edge_id}-w{index}",
        data_dir=str(Path(config.data_dir) / f"worker-{index}"),
        reuse_port=True,
        budget_share=1.0 / count,
        # The store's disk budget for unsent events is shared by the workers' journals.
        journal_soft_limit_bytes=config.journal_soft_limit_bytes // count,
        journal_hard_limit_bytes=config.journal_hard_limit_bytes // count,
        journal_map_size_bytes=max(
            config.journal_map_size_bytes // count, 2 * config.journal_hard_limit_bytes // count
        ),
    )


def run_workers(worker_argv: Callable[[int], list[str]], count: int) -> int:
    """Run ``count`` worker processes until SIGINT or SIGTERM, forwarded to each; the worst exit code.

    Each worker is a fresh interpreter started with ``worker_argv(i)`` (this command line plus
    ``--worker-index i``), so no gRPC or event loop state crosses a fork and no multiprocessing
    helper process sits beside them.
    """
    processes = [subprocess.Popen(worker_argv(i)) for i in range(count)]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [process.wait() for process in processes]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return max((abs(code) for code in codes), default=0)
