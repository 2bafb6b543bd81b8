"""Finding the events a database refuses, so they alone are set aside and the rest are billed. Pure.

A write that fails on its data (an overflow, a value the column cannot hold) fails its whole
transaction; retried as it is, it fails again, and every upload retried with it stays unbilled.
``isolate`` commits the items in ever smaller parts: the first attempt is the whole; a part that
fails on its data is halved and each half tried again, until each failing item stands alone. Parts
that succeed stay committed, so the caller's writes must be idempotent (ingest is, per event id).
One poison item among n costs about 2·log2(n) extra attempts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def isolate(
    items: Sequence[T],
    attempt: Callable[[Sequence[T]], Awaitable[R]],
    is_poison: Callable[[BaseException], bool],
) -> tuple[list[R], list[tuple[T, Exception]]]:
    """The results of the parts of ``items`` that ``attempt`` committed (in order), and each item that
    failed alone with the exception that ``is_poison`` called a data error.

    Any other exception (the database went away) propagates at once: what was committed before
    stays committed, and a retry of the whole finds those items already recorded.
    """
    results: list[R] = []
    poison: list[tuple[T, Exception]] = []

    async def run(part: Sequence[T]) -> None:
        try:
            results.append(await attempt(part))
        except Exception as error:
            if not is_poison(error):
                raise
            if len(part) == 1:
                poison.append((part[0], error))
                return
            middle = len(part) // 2
            await run(part[:middle])
            await run(part[middle:])

    if items:
        await run(items)
    return results, poison
