"""SCHED_BATCH and niced helper threads for the serving processes (edge_node/app/cpu_policy.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_node.app import cpu_policy
from edge_node.app.cli import build_parser, config_from_args
from edge_node.app.cpu_policy import (
    HELPER_RECHECK_S,
    keep_helper_threads_niced,
    nice_helper_threads,
    process_thread_ids,
    use_batch_scheduling,
)
from tests.eventually import eventually

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


def test_helper_threads_get_the_nice_value_and_the_serving_thread_keeps_its_own() -> None:
    """Every listed thread but the serving one is given the nice value."""
    given: dict[int, int] = {}
    count = nice_helper_threads(10, 1, thread_ids=lambda: [1, 2, 3], set_nice=given.__setitem__)
    assert (count, given) == (2, {2: 10, 3: 10})


def test_a_thread_that_exits_before_it_is_niced_is_skipped() -> None:
    """A thread gone between listing and setpriority (ESRCH) is neither an error nor counted."""

    def set_nice(tid: int, nice: int) -> None:
        if tid == 2:
            raise ProcessLookupError(tid)

    assert nice_helper_threads(10, 1, thread_ids=lambda: [1, 2, 3], set_nice=set_nice) == 1


def test_threads_to_keep_are_not_niced() -> None:
    """Threads in ``keep`` (the executor's, which hold the GIL while they work) keep their priority."""
    given: dict[int, int] = {}
    count = nice_helper_threads(10, 1, thread_ids=lambda: [1, 2, 3, 4], set_nice=given.__setitem__, keep=frozenset({3}))
    assert (count, given) == (2, {2: 10, 4: 10})


needs_proc_tasks = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")


@contextlib.contextmanager
def _waiting_thread() -> Iterator[int]:
    """A started thread that waits until the block ends; yields its kernel thread id."""
    release = threading.Event()
    helper = threading.Thread(target=release.wait)
    helper.start()
    try:
        assert helper.native_id is not None
        yield helper.native_id
    finally:
        release.set()
        helper.join()


@needs_proc_tasks
def test_the_nice_value_applies_to_that_thread_alone() -> None:
    """setpriority on a thread id changes that thread, not the caller (Linux threads are tasks)."""
    with _waiting_thread() as helper:
        own = threading.get_native_id()
        niced = nice_helper_threads(7, own, thread_ids=lambda: [own, helper])
        assert niced == 1
        assert os.getpriority(os.PRIO_PROCESS, helper) == 7
        assert os.getpriority(os.PRIO_PROCESS, own) == 0


@needs_proc_tasks
def test_process_thread_ids_lists_the_running_threads() -> None:
    """The process's thread ids include the caller's and those of threads it started."""
    with _waiting_thread() as helper:
        ids = process_thread_ids()
        assert threading.get_native_id() in ids
        assert helper in ids


async def test_helper_threads_are_niced_again_for_threads_started_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """keep_helper_threads_niced applies the nice value at once and again every recheck period."""
    calls: list[tuple[int, int]] = []
    again = asyncio.Event()

    def record(nice: int, serving: int, **_: object) -> int:
        calls.append((nice, serving))
        if len(calls) == 2:
            again.set()
        return 0

    monkeypatch.setattr(cpu_policy, "nice_helper_threads", record)
    task = keep_helper_threads_niced(10, recheck_s=0.001)
    assert len(calls) == 1  # at once, before the call returns
    await asyncio.wait_for(again.wait(), 5)
    task.cancel()
    assert calls[:2] == [(10, threading.get_native_id())] * 2


def test_helper_thread_nice_is_10_by_default_and_can_be_turned_off() -> None:
    """cartads-edge nices its helper threads to 10 unless --helper-thread-nice 0 is given."""
    base = ["--store", "s", "--cloud", "127.0.0.1:1"]
    assert config_from_args(build_parser().parse_args(base)).helper_thread_nice == 10
    off = build_parser().parse_args([*base, "--helper-thread-nice", "0"])
    assert config_from_args(off).helper_thread_nice == 0


def test_a_nice_value_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--helper-thread-nice takes 0 to 19 only."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--store", "s", "--cloud", "h:1", "--helper-thread-nice", "25"])
    assert "not a nice value from 0 to 19" in capsys.readouterr().err


def _thread_nice(pid: int) -> dict[int, int]:
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        out[int(task.name)] = int(fields[16])  # field 19 of stat: nice
    return out


@needs_proc_tasks
def _is_executor(pid: int, tid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == cpu_policy.EXECUTOR_THREAD_PREFIX
    except OSError:
        return False


async def test_a_running_edge_serves_from_a_thread_of_normal_priority_with_its_helpers_niced(tmp_path: Path) -> None:
    """In a real cartads-edge process the serving thread and the executor's keep nice 0; every other thread has 10."""
    argv = ["--store", "s1", "--cloud", "127.0.0.1:9", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "edge_node.app.cli", *argv, "--log-json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        assert "cartads-edge serving" in (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()

        # Threads started after the line (the executor's, on demand) are niced at the next recheck.
        def helpers_niced() -> dict[int, int] | None:
            nice = _thread_nice(proc.pid)
            helpers = {n for tid, n in nice.items() if tid != proc.pid and not _is_executor(proc.pid, tid)}
            return nice if helpers == {10} else None

        nice = await eventually(helpers_niced, timeout_s=10 * HELPER_RECHECK_S, interval_s=0.05)
        assert nice[proc.pid] == 0
        assert all(n == 0 for tid, n in nice.items() if _is_executor(proc.pid, tid))
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def test_a_nice_value_out_of_range_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CARTADS_HELPER_THREAD_NICE is checked like the flag: an error message, not a traceback."""
    monkeypatch.setenv("CARTADS_HELPER_THREAD_NICE", "25")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--store", "s", "--cloud", "h:1"])
    assert "not a nice value from 0 to 19" in capsys.readouterr().err
