"""Group commit of the event journal: concurrent ReportEvents calls share one durable LMDB transaction.

The shared committer (``cartads.group_commit``) runs ``Journal.append_group`` on a worker thread for
each group, bounded in events; a write that would pass the journal's hard limit gets its own
JournalFullError while the rest of its group commits.
"""

from __future__ import annotations

from cartads import group_commit
from edge_node.events.journal import AppendResult, Journal, JournalWrite


def _event_count(write: JournalWrite) -> int:
    return len(write.events)


class GroupCommitter(group_commit.GroupCommitter[JournalWrite, AppendResult]):
    """Journal writes from concurrent callers, committed together (at most ``max_group_events`` events
    per transaction, beyond a single larger write); ``submit`` raises JournalFullError for a write
    the journal refused."""

    def __init__(self, journal: Journal, max_group_events: int) -> None:
        super().__init__(
            group_commit.in_thread(journal.append_group),
            size=_event_count,
            max_group_size=max_group_events,
            name="edge-journal-writer",
        )
