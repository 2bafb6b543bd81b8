"""The shared group committer, over in-memory commit functions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from cartads.group_commit import GroupCommitter, GroupCommitterClosedError, in_thread


class RefusedError(Exception):
    """What the in-memory commit answers for a write it refuses alone."""


class Recorder:
    """Commits by appending each group to ``groups``; optionally held until ``release`` is set."""

    def __init__(self, *, hold: bool = False) -> None:
        self.groups: list[list[str]] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        if not hold:
            self.release.set()

    async def commit(self, writes: list[str]) -> Sequence[str | Exception]:
        self.started.set()
        await self.release.wait()
        self.groups.append(list(writes))
        return [RefusedError(w) if w.startswith("refuse") else w.upper() for w in writes]


def committer(recorder: Recorder, max_group_size: int = 100) -> GroupCommitter[str, str]:
    return GroupCommitter(recorder.commit, size=len, max_group_size=max_group_size, name="test-writer")


async def submitted(group: GroupCommitter[str, str], *writes: str) -> list[asyncio.Task[str]]:
    """Tasks submitting ``writes`` in order, returned once every write is queued."""
    queued = [asyncio.Event() for _ in writes]

    async def submit(write: str, event: asyncio.Event) -> str:
        event.set()  # submit() queues the write before it first waits, in this same step
        return await group.submit(write)

    tasks = [asyncio.create_task(submit(w, e)) for w, e in zip(writes, queued, strict=True)]
    for event in queued:
        await event.wait()
    return tasks


async def test_concurrent_writes_share_commits() -> None:
    """Writes submitted while a commit runs go together into the next one, each caller getting its own result."""
    recorder = Recorder(hold=True)
    group = committer(recorder)
    first = asyncio.create_task(group.submit("a"))
    await recorder.started.wait()
    rest = await submitted(group, "b", "c", "d")
    recorder.release.set()
    assert await asyncio.gather(first, *rest) == ["A", "B", "C", "D"]
    assert recorder.groups == [["a"], ["b", "c", "d"]]
    assert (group.commits, group.writes) == (2, 4)


async def test_result_arrives_only_after_the_commit() -> None:
    """A caller's result is not ready while its group's commit is still running."""
    recorder = Recorder(hold=True)
    group = committer(recorder)
    call = asyncio.create_task(group.submit("a"))
    await recorder.started.wait()
    assert not call.done()
    recorder.release.set()
    assert await call == "A"


async def test_groups_are_bounded_by_the_size_function() -> None:
    """A group's writes weigh at most max_group_size together; a heavier single write goes alone."""
    recorder = Recorder(hold=True)
    group = committer(recorder, max_group_size=4)
    first = asyncio.create_task(group.submit("x"))
    await recorder.started.wait()
    rest = await submitted(group, "aa", "bb", "cc", "huge-write", "d")
    recorder.release.set()
    await asyncio.gather(first, *rest)
    assert recorder.groups == [["x"], ["aa", "bb"], ["cc"], ["huge-write"], ["d"]]


async def test_failed_commit_fails_every_caller_of_its_group() -> None:
    """When the commit raises, each caller of that group gets the exception, and later groups still commit."""
    calls: list[list[str]] = []
    gate = asyncio.Event()
    started = asyncio.Event()

    async def commit(writes: list[str]) -> Sequence[str | Exception]:
        calls.append(list(writes))
        if len(calls) == 1:
            started.set()
            await gate.wait()
            return list(writes)
        if len(calls) == 2:
            raise OSError("disk full")
        return list(writes)

    group: GroupCommitter[str, str] = GroupCommitter(commit, size=len, max_group_size=100)
    first = asyncio.create_task(group.submit("a"))
    await started.wait()
    failing = await submitted(group, "b", "c")
    gate.set()
    assert await first == "a"
    outcomes = await asyncio.gather(*failing, return_exceptions=True)
    assert [type(o) for o in outcomes] == [OSError, OSError]
    assert await group.submit("d") == "d"
    assert group.commits == 2


async def test_a_write_refused_alone_raises_for_its_caller_only() -> None:
    """A per-write exception result goes to that caller; the rest of its group gets results."""
    recorder = Recorder(hold=True)
    group = committer(recorder)
    first = asyncio.create_task(group.submit("a"))
    await recorder.started.wait()
    refused, kept = await submitted(group, "refuse-me", "b")
    recorder.release.set()
    assert await first == "A"
    with pytest.raises(RefusedError):
        await refused
    assert await kept == "B"
    assert recorder.groups == [["a"], ["refuse-me", "b"]]


async def test_cancelled_caller_is_skipped() -> None:
    """A caller that went away before its write started is not committed."""
    recorder = Recorder(hold=True)
    group = committer(recorder)
    first = asyncio.create_task(group.submit("a"))
    await recorder.started.wait()
    gone, kept = await submitted(group, "gone", "b")
    gone.cancel()
    recorder.release.set()
    assert list(await asyncio.gather(first, kept)) == ["A", "B"]
    assert recorder.groups == [["a"], ["b"]]


async def test_blocking_commit_runs_in_a_worker_thread() -> None:
    """``in_thread`` runs a blocking commit off the event loop's thread."""
    threads: list[threading.Thread] = []

    def commit(writes: list[str]) -> list[str | Exception]:
        threads.append(threading.current_thread())
        return [w.upper() for w in writes]

    group: GroupCommitter[str, str] = GroupCommitter(in_thread(commit), size=len, max_group_size=100)
    assert await group.submit("a") == "A"
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()


async def test_close_waits_for_the_commit_and_refuses_new_writes() -> None:
    """``close`` returns after the commit in progress finished, and later submits raise."""
    recorder = Recorder(hold=True)
    group = committer(recorder)
    call = asyncio.create_task(group.submit("a"))
    await recorder.started.wait()
    close_called = asyncio.Event()
    committed_when_closed: list[list[list[str]]] = []

    async def close() -> None:
        close_called.set()  # close() starts waiting for the commit in this same step
        await group.close()
        committed_when_closed.append(list(recorder.groups))

    closing = asyncio.create_task(close())
    await close_called.wait()
    assert not closing.done()
    recorder.release.set()
    await closing
    assert committed_when_closed == [[["a"]]]
    assert await call == "A"
    with pytest.raises(GroupCommitterClosedError):
        await group.submit("b")
