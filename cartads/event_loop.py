"""The event loop every CartAds process runs on: uvloop where it is installed, asyncio's own otherwise.

Imports neither asyncio nor uvloop until asked, so a process that never runs a loop (the edge's
``--workers`` supervisor) does not load them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
