"""Bisection of a failing write: each poison item ends up alone, everything else is committed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from cloud_core.events.isolate import isolate


class PoisonError(Exception):
    """A write refused for its data."""


class AwayError(Exception):
    """The database is away."""


class Store:
    """Commits parts that hold no poison item; refuses the rest whole, like a transaction."""

    def __init__(self, poison: set[int], away_after: int | None = None) -> None:
        self.poison = poison
        self.away_after = away_after
        self.attempts: list[tuple[int, ...]] = []
        self.committed: list[int] = []

    async def attempt(self, part: Sequence[int]) -> int:
        self.attempts.append(tuple(part))
        if self.away_after is not None and len(self.attempts) > self.away_after:
            raise AwayError()
        if self.poison & set(part):
            raise PoisonError(f"refused {sorted(self.poison & set(part))}")
        self.committed.extend(part)
        return len(part)


def is_poison(error: BaseException) -> bool:
    return isinstance(error, PoisonError)


async def test_a_clean_batch_is_one_attempt() -> None:
    """Nothing poisoned: one attempt commits the whole."""
    store = Store(set())
    results, poison = await isolate(list(range(10)), store.attempt, is_poison)
    assert (results, poison, len(store.attempts)) == ([10], [], 1)


async def test_one_poison_item_is_set_aside_alone_and_the_rest_committed() -> None:
    """Of 500 items with one poison, 499 are committed and the poison one is returned with its error."""
    store = Store({137})
    results, poison = await isolate(list(range(500)), store.attempt, is_poison)
    assert sorted(store.committed) == [i for i in range(500) if i != 137]
    assert [(item, str(error)) for item, error in poison] == [(137, "refused [137]")]
    assert sum(results) == 499


async def test_one_poison_item_costs_about_two_attempts_per_halving() -> None:
    """Isolating one poison item among 512 takes 1 + 2·9 attempts."""
    store = Store({3})
    await isolate(list(range(512)), store.attempt, is_poison)
    assert len(store.attempts) == 1 + 2 * 9


async def test_several_poison_items_are_each_set_aside() -> None:
    """Every poison item is found, in order."""
    store = Store({0, 7, 8})
    _, poison = await isolate(list(range(9)), store.attempt, is_poison)
    assert [item for item, _ in poison] == [0, 7, 8]


async def test_commits_keep_the_items_order() -> None:
    """Parts are committed in the order of the items (the first of two claims stays first)."""
    store = Store({4})
    await isolate(list(range(10)), store.attempt, is_poison)
    assert store.committed == [0, 1, 2, 3, 5, 6, 7, 8, 9]


async def test_an_error_that_is_not_poison_propagates() -> None:
    """A database that goes away mid-way ends isolation with its error; what was committed stays."""
    store = Store({9}, away_after=3)
    with pytest.raises(AwayError):
        await isolate(list(range(10)), store.attempt, is_poison)
    assert store.committed == [0, 1, 2, 3, 4]


async def test_no_items_no_attempt() -> None:
    """An empty batch is never attempted."""
    store = Store(set())
    assert await isolate([], store.attempt, is_poison) == ([], [])
    assert store.attempts == []
