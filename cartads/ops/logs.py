"""structlog set-up shared by every CartAds process: JSON lines when not on a terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Hashable

import structlog

# Caller-supplied strings reach log lines and error messages clipped (pure, so pure cores use it too).
from cartads.bounds import MAX_LOGGED_CHARS, clip

__all__ = ["MAX_LOGGED_CHARS", "REFUSAL_LINES_PER_S", "LogBudget", "clip", "configure_logging"]


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing.

    structlog caches its loggers, and a logger holding the stream that was current at configuration
    would outlive a swapped stream (a daemon redirecting, a test capturing output) and write to a
    closed file.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(*, level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog once at start; ``json=None`` means JSON unless stderr is a terminal."""
    use_json = not sys.stderr.isatty() if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


# Refused or failed calls logged per second for one (method, code); the rest are only counted.
REFUSAL_LINES_PER_S = 20


class LogBudget:
    """At most ``per_s`` lines per key (say, a method and a status code) in each second of ``clock``.

    A flood of refused calls must not become a flood of log lines: over the budget a line is only
    counted, and ``report(key, count)`` is called once per key about a second after its first
    suppressed line (on the running event loop; without one, at the next ``allow`` after the second).
    """

    def __init__(
        self,
        report: Callable[[Hashable, int], None],
        *,
        per_s: int = REFUSAL_LINES_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._per_s = per_s
        self._clock = clock
        # key -> (second, lines allowed in it)
        self._used: dict[Hashable, tuple[int, int]] = {}
        self._suppressed: dict[Hashable, int] = {}
        # When the pending counts are due, and whether the event loop will report them itself.
        self._report_due_s: float | None = None
        self._scheduled_on_loop = False

    def allow(self, key: Hashable) -> bool:
        """Whether a line for ``key`` may be written now; counts it as suppressed when not."""
        now = self._clock()
        due_s = self._report_due_s
        # The loop's own report comes first; this one covers no loop, or a loop that stopped meanwhile.
        if due_s is not None and now >= due_s + (2.0 if self._scheduled_on_loop else 0.0):
            self.flush()
        second = int(now)
        used = self._used.get(key)
        count = used[1] + 1 if used is not None and used[0] == second else 1
        if len(self._used) > 10_000:  # keys are few (methods × codes); never let them grow unbounded
            self._used.clear()
        self._used[key] = (second, count)
        if count <= self._per_s:
            return True
        self._suppressed[key] = self._suppressed.get(key, 0) + 1
        if self._report_due_s is None:
            self._report_due_s = now + 1.0
            self._scheduled_on_loop = self._schedule()
        return False

    def _schedule(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        loop.call_later(1.0, self.flush)
        return True

    def flush(self) -> None:
        """Report every count suppressed since the last report."""
        suppressed, self._suppressed = self._suppressed, {}
        self._report_due_s = None
        self._scheduled_on_loop = False
        for key, count in suppressed.items():
            self._report(key, count)
