"""Waiting for a state the code under test announces with no event: the one polling helper of the suite.

Prefer an event, a queue or a later message when the code offers one; poll with ``eventually`` only
where it does not (a version an edge serves, a row another process writes, a status behind an RPC).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")


def describe(predicate: Callable[..., object]) -> str:
    """A predicate's source (a lambda's is the clearest description of what was awaited)."""
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T | None]], *, timeout_s: float = ..., interval_s: float = ..., what: str = ...
) -> T: ...


@overload
async def eventually(
    predicate: Callable[[], T | None], *, timeout_s: float = ..., interval_s: float = ..., what: str = ...
) -> T: ...


async def eventually(
    predicate: Callable[[], object],
    *,
    timeout_s: float = 5.0,
    interval_s: float = 0.01,
    what: str = "",
) -> object:
    """Call ``predicate`` (sync or async) until it returns something truthy, and return that.

    Fails with an AssertionError naming what was awaited (``what``, else the predicate's source) and
    the last value seen when ``timeout_s`` passes first; the predicate's own exceptions propagate.
    """
    last: object = None
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            while True:
                value = predicate()
                if inspect.isawaitable(value):
                    value = await value
                last = value
                if last:
                    return last
                await asyncio.sleep(interval_s)
    except TimeoutError:
        if not deadline.expired():
            raise
    raise AssertionError(f"not within {timeout_s} s: {what or describe(predicate)} (last value: {last!r})")
