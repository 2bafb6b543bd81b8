"""The suite's polling helper: it returns the first truthy value and says what it waited for."""

from __future__ import annotations

import itertools

import pytest

from tests.eventually import eventually


async def test_returns_the_first_truthy_value_of_a_sync_predicate() -> None:
    """A predicate that turns truthy on its third call makes eventually return that value."""
    calls = itertools.count(1)
    assert await eventually(lambda: "ready" if next(calls) >= 3 else "", interval_s=0.001) == "ready"


async def test_awaits_an_async_predicate() -> None:
    """An async predicate is awaited and its truthy result returned."""

    async def status() -> dict[str, int]:
        return {"edges": 1}

    assert await eventually(status) == {"edges": 1}


async def test_timeout_names_what_was_awaited_and_the_last_value() -> None:
    """On timeout the AssertionError names the awaited condition and the last value seen."""
    with pytest.raises(AssertionError, match=r"not within 0.05 s: the index \(last value: 0\)"):
        await eventually(lambda: 0, timeout_s=0.05, what="the index")


async def test_timeout_without_a_name_quotes_the_predicate() -> None:
    """Without ``what``, the message quotes the predicate's source."""
    pending: list[str] = []
    with pytest.raises(AssertionError, match=r"lambda: pending"):
        await eventually(lambda: pending, timeout_s=0.02)
