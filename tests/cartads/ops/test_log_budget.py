"""Bounded log lines: caller strings clipped, refusals limited per key and second with a count of the rest."""

from __future__ import annotations

from collections.abc import Hashable

from cartads.ops.logs import LogBudget, clip


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_short_text_is_kept_whole() -> None:
    """A string within the bound is logged as it is."""
    assert clip("cart-1", 8) == "cart-1"


def test_long_text_keeps_its_head_and_counts_the_rest() -> None:
    """A long string keeps its first characters and says how many were cut."""
    assert clip("abcdefghij", 4) == "abcd…(+6)"


def test_budget_allows_per_second_then_refuses() -> None:
    """Within one second, the first ``per_s`` lines of a key are allowed and the next one is not."""
    budget = LogBudget(lambda key, count: None, per_s=3, clock=_Clock())
    assert [budget.allow("k") for _ in range(4)] == [True, True, True, False]


def test_budget_is_per_key() -> None:
    """A key over its budget does not take another key's."""
    budget = LogBudget(lambda key, count: None, per_s=1, clock=_Clock())
    budget.allow("a")
    assert (budget.allow("a"), budget.allow("b")) == (False, True)


def test_budget_renews_each_second() -> None:
    """The next second allows lines again."""
    clock = _Clock()
    budget = LogBudget(lambda key, count: None, per_s=1, clock=clock)
    budget.allow("k")
    clock.now += 1.0
    assert budget.allow("k")


def test_suppressed_lines_are_reported_once_with_their_count() -> None:
    """Without an event loop, the count suppressed is reported at the first line after a second."""
    reports: list[tuple[Hashable, int]] = []
    clock = _Clock()
    budget = LogBudget(lambda key, count: reports.append((key, count)), per_s=1, clock=clock)
    for _ in range(5):
        budget.allow("k")
    clock.now += 1.5
    budget.allow("k")
    assert reports == [("k", 4)]
