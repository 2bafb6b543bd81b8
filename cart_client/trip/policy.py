"""When the cart asks the edge for ads: pure, driven by the trip clock the caller passes in.

Triggers: the session's start, a confirmed scan, entering a zone once the cart has stayed there for
``zone_dwell_ms`` (a cart rolling through three aisles asks about the one it stops in), the shopper
being idle for ``idle_ms``, and checkout. Requests are at least ``min_interval_ms`` apart (a dwell
that falls inside the interval waits for it; other triggers are dropped), except checkout, and a
trip makes at most ``max_requests_per_trip``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Trigger(enum.StrEnum):
    """What made the cart ask for ads."""

    SESSION_START = "session_start"
    SCAN = "scan"
    ZONE_ENTER = "zone_enter"
    IDLE = "idle"
    CHECKOUT = "checkout"


@dataclass(frozen=True, slots=True)
class RequestPolicyConfig:
    """The pacing of ad requests within one trip."""

    min_interval_ms: int = 2_000
    max_requests_per_trip: int = 40
    zone_dwell_ms: int = 3_000
    idle_ms: int = 60_000

    def __post_init__(self) -> None:
        if min(self.min_interval_ms, self.zone_dwell_ms, self.idle_ms) < 0 or self.max_requests_per_trip < 1:
            raise ValueError("request policy intervals must be >= 0 and the trip cap >= 1")


class RequestPolicy:
    """Decides, trigger by trigger, whether the cart asks now."""

    def __init__(self, config: RequestPolicyConfig | None = None) -> None:
        self.config = config or RequestPolicyConfig()
        self.requests = 0
        self.suppressed = 0
        self._last_request_ms: int | None = None
        self._last_activity_ms: int | None = None
        self._idle_asked = False
        self._asked_zone = ""
        self._pending_zone: tuple[str, int] | None = None

    def allow(self, trigger: Trigger, now_ms: int) -> bool:
        """Whether a request for ``trigger`` goes out now; counts it when it does."""
        if not self._may_ask(trigger, now_ms):
            self.suppressed += 1
            return False
        self.requests += 1
        self._last_request_ms = now_ms
        return True

    def activity(self, now_ms: int) -> None:
        """The shopper or the cart did something: the idle clock restarts."""
        self._last_activity_ms = now_ms
        self._idle_asked = False

    def zone_entered(self, zone_id: str, now_ms: int) -> None:
        """In-store location reports ``zone_id``; asking waits for the dwell."""
        if zone_id == self._asked_zone:
            self._pending_zone = None
        elif self._pending_zone is None or self._pending_zone[0] != zone_id:
            self._pending_zone = (zone_id, now_ms)

    def due(self, now_ms: int) -> list[Trigger]:
        """The timed triggers that fire at ``now_ms`` and are allowed (each counted as a request)."""
        fired: list[Trigger] = []
        if self._pending_zone is not None:
            zone_id, entered_ms = self._pending_zone
            if now_ms >= entered_ms + self.config.zone_dwell_ms and self._interval_ok(now_ms):
                self._pending_zone = None
                self._asked_zone = zone_id
                if self.allow(Trigger.ZONE_ENTER, now_ms):
                    fired.append(Trigger.ZONE_ENTER)
        if (
            self._last_activity_ms is not None
            and not self._idle_asked
            and now_ms >= self._last_activity_ms + self.config.idle_ms
        ):
            self._idle_asked = True
            if self.allow(Trigger.IDLE, now_ms):
                fired.append(Trigger.IDLE)
        return fired

    def next_deadline_ms(self) -> int | None:
        """When ``due`` may next fire something, or None."""
        times: list[int] = []
        if self._pending_zone is not None:
            at = self._pending_zone[1] + self.config.zone_dwell_ms
            if self._last_request_ms is not None:
                at = max(at, self._last_request_ms + self.config.min_interval_ms)
            times.append(at)
        if self._last_activity_ms is not None and not self._idle_asked:
            times.append(self._last_activity_ms + self.config.idle_ms)
        return min(times) if times else None

    def _interval_ok(self, now_ms: int) -> bool:
        return self._last_request_ms is None or now_ms - self._last_request_ms >= self.config.min_interval_ms

    def _may_ask(self, trigger: Trigger, now_ms: int) -> bool:
        if self.requests >= self.config.max_requests_per_trip:
            return False
        return trigger is Trigger.CHECKOUT or self._interval_ok(now_ms)


__all__ = ["RequestPolicy", "RequestPolicyConfig", "Trigger"]
