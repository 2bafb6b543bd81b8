"""A trip's sales are clamped before they are squared, so no experiment sum can overflow its column."""

from __future__ import annotations

from cartads.bounds import MAX_TRIP_SALES_MICROS
from cloud_core.reports.metrics import trip_cents
from cloud_core.reports.rollups import StoredTrip, TripChanges, TripDelta, trip_update

BIGINT_MAX = 2**63 - 1
# A basket add of quantity 2^31 - 1 at a $5 shelf price: what the unbounded edge once let through.
HUGE_SALES_MICROS = (2**31 - 1) * 5_000_000


def _update(before_micros: int, added_micros: int) -> tuple[int, int]:
    changes = TripChanges({("t1", "L"): TripDelta("x", 0, added_micros)})
    update = trip_update("s1", changes, [], {("t1", "L"): StoredTrip("x", 0, before_micros)})
    [(_, _, after)] = update.sales
    [row] = update.rollup_rows
    return after, row["sales_sq_cents2"]


def test_huge_sales_are_clamped_to_the_trip_bound() -> None:
    """A trip's stored sales stop at the bound whatever one upload adds."""
    after, _ = _update(0, HUGE_SALES_MICROS)
    assert after == MAX_TRIP_SALES_MICROS


def test_the_squared_sales_of_a_clamped_trip_fit_a_bigint_many_times_over() -> None:
    """The variance sum one clamped trip adds is the square of the bound, far below BIGINT."""
    _, squared = _update(0, HUGE_SALES_MICROS)
    assert squared == trip_cents(MAX_TRIP_SALES_MICROS) ** 2
    assert squared * 90_000 < BIGINT_MAX


def test_a_trip_at_the_bound_gains_nothing_more() -> None:
    """Sales added to a trip already at the bound change no sums."""
    changes = TripChanges({("t1", "L"): TripDelta("x", 0, 1_000_000)})
    update = trip_update("s1", changes, [], {("t1", "L"): StoredTrip("x", 0, MAX_TRIP_SALES_MICROS)})
    assert (update.sales, update.rollup_rows) == ([], [])
