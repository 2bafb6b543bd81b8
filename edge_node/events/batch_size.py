"""How many events the next upload carries: batches that adapt to the uplink.

One batch is in flight at a time, in seq order: the cloud judges a click against the impressions
it has already recorded, so batches must arrive in the order their events happened. Each batch
then costs a round trip of its own, which on a slow uplink (300 ms) caps a small batch's rate far
below what a store produces. The batch grows while uploads come back well within their time, up to
the contract's bound, and halves after one that took too long or timed out, so a bad link still
carries batches it can finish.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatchSizer:
    """The next batch's size, between ``min_events`` and ``max_events``."""

    min_events: int
    max_events: int
    # An upload that takes longer than this is too big for the link; one under half of it may grow.
    target_s: float

    def __post_init__(self) -> None:
        self.min_events = max(1, min(self.min_events, self.max_events))
        self.size = self.min_events

    def answered(self, events: int, took_s: float) -> None:
        """A batch of ``events`` was acknowledged after ``took_s``."""
        if took_s > self.target_s:
            self.size = max(self.min_events, self.size // 2)
        elif events >= self.size and took_s < self.target_s / 2:
            # Only a full batch says the backlog would have filled a bigger one.
            self.size = min(self.max_events, self.size * 2)

    def failed(self) -> None:
        """An upload failed (timed out, or the link dropped it): try a smaller one next."""
        self.size = max(self.min_events, self.size // 2)
