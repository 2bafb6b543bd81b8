"""The serving processes' CPU scheduling: Linux's SCHED_BATCH, and gRPC's helper threads niced.

Under the default policy a thread that wakes up (gRPC's poller and event-engine threads wake for
every request) preempts the thread running on its core. With several worker processes and a load
of many small requests on few cores, that is several involuntary context switches per request, each
evicting the interrupted interpreter's caches. SCHED_BATCH tells the scheduler the threads are
throughput-bound: a waking thread waits for a free core or the next tick instead of preempting, so
each wake-up handles more requests. Measured under ``cartads-bench edge`` on 2 cores: involuntary
switches per request 6 → 3, GetAds throughput +13% (the bare floor gains 8%); nothing changes while
cores are idle (the open-loop p99), since a waking thread then finds a free core at once.

Threads inherit the policy of the thread that starts them, so it is set before the server starts.

The serving thread (the event loop's, where every request's Python runs) is the one the others
wait for. With workers on every core, gRPC's helper threads (the completion-queue poller, the
event engine's pool) still took a core from a serving thread at each wake-up, waking once per
event. Niced, they run when a serving thread waits, and then find several events queued: on 2
cores with 2 workers, the poller's wake-ups per request 3.8 → 1.2, involuntary switches of the
serving threads 3.5 → 1.0, edge CPU per request -10%, throughput +10%. A single process, whose
serving thread has a core to itself, gains nothing from it (its floor measured 0 to -10%).

The edge's own worker threads (the event loop's executor: journal commits, LMDB reads, index
builds) are not niced: they run Python, so they hold the GIL. On a machine whose CPUs are shared
with other work, a niced thread is preempted for long stretches, and one preempted while holding
the GIL holds the serving thread with it (a priority inversion): under ``cartads-bench store-day``
with the machine's load average at 12–23 on 2 cores, the loop's own stalls (not counting its wait
for a CPU) reached 108 and 148 ms with them niced, 44 and 51 ms without any nicing. gRPC's threads
mostly wait in C with the GIL released, and stay niced.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

_TASKS = Path("/proc/self/task")
# The name prefix of the serving loop's executor threads (``cartads-edge`` installs that executor):
# they hold the GIL while they work, so they are never niced (see the module's docstring).
EXECUTOR_THREAD_PREFIX = "edge-worker"
# gRPC's event engine starts threads as load asks for them: new ones are niced within this time.
HELPER_RECHECK_S = 2.0


def use_batch_scheduling() -> bool:
    """Put the calling thread, and threads it starts from now on, under SCHED_BATCH.

    Returns False where the platform has no such policy (the process then runs as before).
    """
    set_policy = getattr(os, "sched_setscheduler", None)
    batch = getattr(os, "SCHED_BATCH", None)
    if set_policy is None or batch is None:
        return False
    try:
        # pid 0 is the calling thread; SCHED_BATCH takes priority 0 and needs no privilege.
        set_policy(0, batch, os.sched_param(0))
    except OSError:
        return False
    return True


def name_executor_thread() -> None:
    """Name the calling thread EXECUTOR_THREAD_PREFIX for the kernel too (ps, top, py-spy and /proc
    show it); the executor runs this as each of its threads starts. Linux only; elsewhere nothing."""
    with contextlib.suppress(OSError):
        Path("/proc/thread-self/comm").write_text(EXECUTOR_THREAD_PREFIX)


def process_thread_ids() -> list[int]:
    """The kernel ids of this process's threads; empty where /proc does not list them (not Linux)."""
    try:
        return [int(name) for name in os.listdir(_TASKS)]
    except OSError:
        return []


def set_thread_nice(thread_id: int, nice: int) -> None:
    """Give one thread ``nice``: on Linux a thread id names that thread alone to setpriority."""
    os.setpriority(os.PRIO_PROCESS, thread_id, nice)


def nice_helper_threads(
    nice: int,
    serving_thread_id: int,
    *,
    thread_ids: Callable[[], Iterable[int]] = process_thread_ids,
    set_nice: Callable[[int, int], None] = set_thread_nice,
    keep: frozenset[int] = frozenset(),
) -> int:
    """Give every thread of the process but the serving one (and those in ``keep``) ``nice``;
    returns how many got it.

    Called again from time to time: gRPC's event engine and the asyncio executor start threads on
    demand, and one started by the serving thread inherits its priority. Raising a nice value needs
    no privilege; a thread that exits meanwhile is skipped.
    """
    done = 0
    for thread_id in thread_ids():
        if thread_id == serving_thread_id or thread_id in keep:
            continue
        try:
            set_nice(thread_id, nice)
        except OSError:  # gone since it was listed, or not ours to change
            continue
        done += 1
    return done


def keep_helper_threads_niced(nice: int, recheck_s: float = HELPER_RECHECK_S) -> asyncio.Task[None]:
    """Nice every thread but the calling (serving) one now, and again every ``recheck_s`` seconds
    in the task returned (cancel it to stop): for the threads gRPC and the executor start later."""
    # Here, not at the top: a --workers supervisor imports this module and never serves.
    import asyncio
    import threading

    serving = threading.get_native_id()

    def executor_threads() -> frozenset[int]:
        return frozenset(
            t.native_id
            for t in threading.enumerate()
            if t.name.startswith(EXECUTOR_THREAD_PREFIX) and t.native_id is not None
        )

    nice_helper_threads(nice, serving, keep=executor_threads())

    async def recheck() -> None:
        while True:
            await asyncio.sleep(recheck_s)
            nice_helper_threads(nice, serving, keep=executor_threads())

    return asyncio.create_task(recheck(), name="nice-helper-threads")
