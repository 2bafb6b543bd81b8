"""Group commit: concurrent writers share one durable transaction.

A durable commit (an fsync) costs about the same for one write as for thousands, so the callers that
arrive while a commit is on its way to disk wait together and go into the next one. One writer task
at a time drains the pending writes in groups, runs the commit function once per group, and resolves
each caller's future only after that commit returned: an answer always means "committed".

Used by the edge's event journal (LMDB) and by the cloud's ledger (SQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

W = TypeVar("W")
R = TypeVar("R")

# A group's writes in -> each write's result, in order; a result may be the exception that write
# alone gets (the rest of its group still commits).
CommitGroup = Callable[[list[W]], Awaitable[Sequence[R | Exception]]]
BlockingCommitGroup = Callable[[list[W]], Sequence[R | Exception]]


class GroupCommitterClosedError(RuntimeError):
    """A write was submitted after ``close``."""


def in_thread(commit: BlockingCommitGroup[W, R]) -> CommitGroup[W, R]:
    """``commit`` run on a worker thread, so a blocking commit (LMDB, a DB driver) leaves the loop free."""

    async def run(writes: list[W]) -> Sequence[R | Exception]:
        return await asyncio.to_thread(commit, writes)

    return run


class GroupCommitter(Generic[W, R]):
    """Collects writes from concurrent callers and commits them together.

    ``size`` weighs a write (say, its events) and ``max_group_size`` bounds a group's total weight; a
    single heavier write still goes alone, so none waits forever.
    """

    def __init__(
        self,
        commit: CommitGroup[W, R],
        *,
        size: Callable[[W], int],
        max_group_size: int,
        name: str = "group-commit",
    ) -> None:
        self._commit = commit
        self._size = size
        self._max_group_size = max(1, max_group_size)
        self._name = name
        self._pending: list[tuple[W, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        # Groups committed and writes they held (metrics, tests).
        self.commits = 0
        self.writes = 0

    async def submit(self, write: W) -> R:
        """Commit ``write`` with whatever else is pending; its result once the commit returned.

        Raises the commit's exception when the group's commit failed (nothing of it committed), or the
        write's own exception when the commit refused just this write.
        """
        if self._closed:
            raise GroupCommitterClosedError(f"{self._name} is closed")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name=self._name)
        return await future

    def _take_group(self) -> list[tuple[W, asyncio.Future[R]]]:
        cut = total = 0
        for write, _ in self._pending:
            weight = self._size(write)
            if cut and total + weight > self._max_group_size:
                break
            cut += 1
            total += weight
        taken = self._pending[:cut]
        del self._pending[:cut]
        # A caller that went away (cancelled) before its write started needs nothing done.
        return [(write, future) for write, future in taken if not future.done()]

    async def _drain(self) -> None:
        while self._pending:
            group = self._take_group()
            if not group:
                continue
            try:
                results = await self._commit([write for write, _ in group])
            except Exception as exc:
                # Nothing of this group committed: every caller gets the error (never a silent drop).
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.commits += 1
            self.writes += len(group)
            for (_, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def close(self) -> None:
        """Refuse new writes and wait for the commit in progress (and those queued behind it); idempotent."""
        self._closed = True
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
