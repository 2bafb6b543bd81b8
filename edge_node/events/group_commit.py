"""Group commit: concurrent ReportEvents calls share one durable journal transaction.

An fsync costs the same for one event as for thousands, so the callers that arrive while a commit
is on disk wait together and go into the next transaction. One writer task at a time drains the
pending writes into ``Journal.append_group`` (in a worker thread) and resolves each caller's future
only after that transaction committed: an answer always means "on disk".
"""

from __future__ import annotations

import asyncio
import contextlib

from edge_node.errors import JournalFullError
from edge_node.events.journal import AppendResult, Journal, JournalWrite

_Pending = tuple[JournalWrite, "asyncio.Future[AppendResult]"]


class GroupCommitter:
    """Collects journal writes from concurrent callers and commits them together."""

    def __init__(self, journal: Journal, max_group_events: int) -> None:
        self._journal = journal
        self._max_group_events = max(1, max_group_events)
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0
        self.writes = 0

    async def submit(self, write: JournalWrite) -> AppendResult:
        """Journal ``write`` durably; returns once its transaction committed (raises JournalFullError)."""
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="edge-journal-writer")
        return await future

    def _take_group(self) -> list[_Pending]:
        cut = events = 0
        for write, _ in self._pending:
            if cut and events + len(write.events) > self._max_group_events:
                break
            cut += 1
            events += len(write.events)
        taken = self._pending[:cut]
        del self._pending[:cut]
        # A caller that went away before its write started needs nothing done.
        return [(write, future) for write, future in taken if not future.done()]

    async def _drain(self) -> None:
        while self._pending:
            group = self._take_group()
            if not group:
                continue
            try:
                results = await asyncio.to_thread(self._journal.append_group, [w for w, _ in group])
            except Exception as exc:
                # Nothing of this group committed; every caller gets the error (never a silent drop).
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.commits += 1
            self.writes += len(group)
            for (_, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, JournalFullError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def close(self) -> None:
        """Wait for the commit in progress (and those queued behind it) to finish."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
