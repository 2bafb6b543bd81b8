"""A trip replayed at a shopper's pace: each sensor event when its trip time has come (pure but for
the injected clock and sleep).

The simulator's traces carry their trip time (``t_ms``) but replay as fast as the edge answers: a
five-minute trip's forty scans, zone changes and touches in well under a second, dozens of calls a
second from one cart, which no person pushing a cart can make and the edge's per-cart limit (20
calls a second) rightly refuses. Paced, a cart calls as often as its shopper acts, ``speedup``
times faster when a benchmark compresses a store's day.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from cart_client.sensors.trace import SensorEvent


async def paced(
    events: Iterable[SensorEvent],
    speedup: float = 1.0,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[SensorEvent]:
    """Yield each event once ``t_ms / speedup`` has passed since the first was asked for (an event
    without a trip time goes at once)."""
    if speedup <= 0:
        raise ValueError("speedup must be positive")
    started_s = clock()
    for event in events:
        if event.t_ms is not None:
            wait_s = started_s + event.t_ms / 1000 / speedup - clock()
            if wait_s > 0:
                await sleep(wait_s)
        yield event
