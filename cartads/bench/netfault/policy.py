"""What a faulty link does to one packet in one direction: lose it, or delay it by how much."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkPolicy:
    """One direction of the link. A black hole drops silently: no reset, no ICMP, like a dead uplink."""

    # Probability that each packet is lost.
    loss: float = 0.0
    # One-way delay, uniform in [delay_ms - jitter_ms, delay_ms + jitter_ms]; packets keep their order.
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    # Every packet dropped.
    black_hole: bool = False
    # Both > 0: the direction passes packets for flap_up_s, then black-holes them for flap_down_s,
    # and again, counted from when the policy was set.
    flap_up_s: float = 0.0
    flap_down_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be within [0, 1], not {self.loss}")
        if self.delay_ms < 0 or self.jitter_ms < 0 or self.flap_up_s < 0 or self.flap_down_s < 0:
            raise ValueError("delay_ms, jitter_ms, flap_up_s and flap_down_s must not be negative")

    def is_down(self, since_set_s: float) -> bool:
        """Whether the direction drops everything ``since_set_s`` after the policy was set."""
        if self.black_hole:
            return True
        if self.flap_up_s > 0 and self.flap_down_s > 0:
            return since_set_s % (self.flap_up_s + self.flap_down_s) >= self.flap_up_s
        return False

    def transit_s(self, since_set_s: float, rng: random.Random) -> float | None:
        """The packet's one-way delay in seconds, or None when the link loses it."""
        if self.is_down(since_set_s):
            return None
        if self.loss > 0 and rng.random() < self.loss:
            return None
        delay_ms = self.delay_ms
        if self.jitter_ms > 0:
            delay_ms += rng.uniform(-self.jitter_ms, self.jitter_ms)
        return max(0.0, delay_ms) / 1000.0


CLEAN = LinkPolicy()
BLACK_HOLE = LinkPolicy(black_hole=True)
