"""The console's pure core: cumulative spend by hour against the budget, and the edges view."""

from __future__ import annotations

import dataclasses

import pytest

from cartads.time_units import HOUR_US
from cloud_core.console.model import (
    RECONNECT_GRACE_S,
    CampaignTotals,
    EdgeRow,
    HourlySpend,
    campaign_json,
    edge_health,
    edge_json,
    edges_json,
    seconds_since,
    spend_series,
    window_start_us,
)

T0 = 1_780_000_000 * 1_000_000 // HOUR_US * HOUR_US  # an hour boundary
DAY_US = 24 * HOUR_US


def _series(hours: list[HourlySpend], **overrides: int) -> list[tuple[int, int, int]]:
    args = {"budget_micros": 1_000, "flight_start_us": T0, "flight_end_us": T0 + DAY_US, "now_us": T0 + 5 * HOUR_US}
    args.update(overrides)
    s = spend_series(hours, **args)
    return [(p.hour_start_us, p.spend_micros, p.cumulative_spend_micros) for p in s.points]


def test_cumulative_spend_runs_from_the_flight_start_to_the_current_hour() -> None:
    """Spend accumulates hour by hour from the flight's first hour up to the hour holding now, gaps as zeros."""
    hours = [HourlySpend(T0 + HOUR_US, spend_micros=100), HourlySpend(T0 + 3 * HOUR_US, spend_micros=50)]
    assert _series(hours) == [
        (T0, 0, 0),
        (T0 + HOUR_US, 100, 100),
        (T0 + 2 * HOUR_US, 0, 100),
        (T0 + 3 * HOUR_US, 50, 150),
        (T0 + 4 * HOUR_US, 0, 150),
        (T0 + 5 * HOUR_US, 0, 150),
    ]


def test_rows_of_one_hour_from_several_stores_are_summed() -> None:
    """Two rollup rows in the same hour (two stores or line items) make one point."""
    hours = [HourlySpend(T0, spend_micros=10), HourlySpend(T0 + 60_000_000, spend_micros=5)]
    assert _series(hours, now_us=T0) == [(T0, 15, 15)]


def test_series_stops_at_the_flight_end_once_the_flight_is_over() -> None:
    """After the flight ended the last point is the flight's last hour, not the current hour."""
    hours = [HourlySpend(T0, spend_micros=10)]
    points = _series(hours, flight_end_us=T0 + 3 * HOUR_US, now_us=T0 + 10 * DAY_US)
    assert [p[0] for p in points] == [T0, T0 + HOUR_US, T0 + 2 * HOUR_US]


def test_spend_after_now_still_shows() -> None:
    """A rollup hour later than now (clock drift) extends the series instead of vanishing."""
    hours = [HourlySpend(T0 + 2 * HOUR_US, spend_micros=10)]
    assert _series(hours, now_us=T0) == [(T0, 0, 0), (T0 + HOUR_US, 0, 0), (T0 + 2 * HOUR_US, 10, 10)]


def test_spend_before_the_flight_is_carried_into_the_first_point() -> None:
    """Spend in an hour before the flight starts is not lost: it is carried into the first point."""
    s = spend_series(
        [HourlySpend(T0 - HOUR_US, spend_micros=7)],
        budget_micros=100,
        flight_start_us=T0,
        flight_end_us=T0 + DAY_US,
        now_us=T0,
    )
    assert (s.carried_spend_micros, s.points[0].cumulative_spend_micros) == (7, 7)


def test_a_flight_that_has_not_started_gives_its_first_hour() -> None:
    """A campaign that has not started shows its first flight hour, so the budget line can be drawn."""
    assert _series([], flight_start_us=T0 + DAY_US, flight_end_us=T0 + 2 * DAY_US, now_us=T0) == [(T0 + DAY_US, 0, 0)]


def test_window_keeps_the_latest_hours_and_carries_older_spend() -> None:
    """Beyond max_points hours the oldest are dropped from the points but their spend is carried."""
    hours = [HourlySpend(T0 + i * HOUR_US, spend_micros=1) for i in range(10)]
    s = spend_series(
        hours, budget_micros=100, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0 + 9 * HOUR_US, max_points=4
    )
    assert [p.hour_start_us for p in s.points] == [T0 + i * HOUR_US for i in range(6, 10)]
    assert s.carried_spend_micros == 6
    assert [p.cumulative_spend_micros for p in s.points] == [7, 8, 9, 10]
    assert s.total_spend_micros == 10


def test_exhausted_hour_is_the_first_hour_reaching_the_budget() -> None:
    """The series names the hour whose cumulative spend first reached the budget, even before its window."""
    hours = [HourlySpend(T0 + i * HOUR_US, spend_micros=400) for i in range(4)]
    s = spend_series(hours, budget_micros=1_000, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0)
    assert s.exhausted_hour_us == T0 + 2 * HOUR_US
    windowed = spend_series(
        hours, budget_micros=1_000, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0, max_points=1
    )
    assert windowed.exhausted_hour_us == T0 + 2 * HOUR_US


def test_unspent_budget_has_no_exhausted_hour() -> None:
    """A campaign below its budget has no exhausted hour."""
    s = spend_series(
        [HourlySpend(T0, spend_micros=10)],
        budget_micros=1_000,
        flight_start_us=T0,
        flight_end_us=T0 + DAY_US,
        now_us=T0,
    )
    assert s.exhausted_hour_us is None


def test_even_pace_reaches_the_budget_at_the_flight_end() -> None:
    """The pace line grows linearly over the flight: a quarter of the budget after a quarter of it."""
    s = spend_series([], budget_micros=2_400, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0 + DAY_US)
    assert len(s.points) == 24
    assert s.points[-1].pace_micros == 2_400
    quarter = spend_series(
        [], budget_micros=2_400, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0 + 5 * HOUR_US
    )
    assert quarter.points[-1].pace_micros == 600  # through the end of hour 5 = 6 of 24 hours


def test_max_points_below_one_is_refused() -> None:
    """A window of no hours is a programming error."""
    with pytest.raises(ValueError, match="max_points"):
        spend_series([], budget_micros=1, flight_start_us=T0, flight_end_us=T0 + 1, now_us=T0, max_points=0)


def _edge(store: str, edge: str, *, applied: str = "v1", current: str = "v1", seen_us: int = T0) -> EdgeRow:
    return EdgeRow(store, edge, True, applied, current, "ACK", seen_us, 0, "", "", seen_us)


def test_edges_are_grouped_by_store_with_counts() -> None:
    """The edges view groups edges by store and counts connected and in-sync edges per store."""
    rows = [_edge("s2", "e1"), _edge("s1", "e2", applied="v0"), _edge("s1", "e1")]
    view = edges_json(rows, T0)
    assert [s["store_id"] for s in view["stores"]] == ["s1", "s2"]
    s1 = view["stores"][0]
    assert [e["edge_id"] for e in s1["edges"]] == ["e1", "e2"]
    assert (s1["connected"], s1["in_sync"]) == (2, 1)


def test_edge_reports_seconds_since_seen() -> None:
    """Seconds since an edge was seen come from the injected now."""
    view = edges_json([_edge("s1", "e1", seen_us=T0)], T0 + 2_500_000)
    assert view["stores"][0]["edges"][0]["seconds_since_seen"] == 2.5


def test_edge_never_sent_an_update_counts_as_in_sync() -> None:
    """An edge the cloud has sent nothing yet is not flagged as behind."""
    view = edges_json([_edge("s1", "e1", current="")], T0)
    assert view["stores"][0]["edges"][0]["in_sync"] is True


def test_seconds_since_a_time_that_never_happened_is_none() -> None:
    """Zero means never, so there is no age to show."""
    assert seconds_since(0, T0) is None


def test_campaign_row_shows_remaining_budget_and_fraction() -> None:
    """A campaign row carries what is left of the budget and the fraction spent."""
    row = campaign_json(CampaignTotals("c1", "a1", "C", 1_000, T0, T0 + DAY_US, True, spend_micros=250))
    assert (row["remaining_micros"], row["spent_fraction"]) == (750, 0.25)


def test_pace_line_starts_at_the_pace_of_the_first_hours_start() -> None:
    """The pace line begins at zero at the flight's start, and mid-flight when the window cuts older hours."""
    whole = spend_series(
        [], budget_micros=2_400, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0 + 5 * HOUR_US
    )
    cut = spend_series(
        [], budget_micros=2_400, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0 + 5 * HOUR_US, max_points=2
    )
    assert (whole.start_pace_micros, cut.start_pace_micros) == (0, 400)


def test_earlier_spend_is_carried_and_counted_in_the_total() -> None:
    """Spend that storage summed before the hours it read is carried into the first point and the total."""
    s = spend_series(
        [HourlySpend(T0 + HOUR_US, spend_micros=5)],
        budget_micros=100,
        flight_start_us=T0,
        flight_end_us=T0 + DAY_US,
        now_us=T0 + HOUR_US,
        earlier_spend_micros=40,
    )
    assert [p.cumulative_spend_micros for p in s.points] == [40, 45]
    assert (s.carried_spend_micros, s.total_spend_micros) == (40, 45)


def test_budget_spent_before_the_hours_read_is_flagged() -> None:
    """When earlier spend already reached the budget there is no exhausted hour to name, but a flag."""
    s = spend_series(
        [], budget_micros=100, flight_start_us=T0, flight_end_us=T0 + DAY_US, now_us=T0, earlier_spend_micros=100
    )
    assert (s.exhausted_hour_us, s.exhausted_earlier) == (None, True)


def test_exhausted_hour_counts_earlier_spend() -> None:
    """The hour that reaches the budget is found counting the spend before the hours read."""
    s = spend_series(
        [HourlySpend(T0, spend_micros=30), HourlySpend(T0 + HOUR_US, spend_micros=30)],
        budget_micros=100,
        flight_start_us=T0,
        flight_end_us=T0 + DAY_US,
        now_us=T0 + HOUR_US,
        earlier_spend_micros=50,
    )
    assert (s.exhausted_hour_us, s.exhausted_earlier) == (T0 + HOUR_US, False)


def test_window_start_is_the_flight_start_or_the_oldest_hour_kept() -> None:
    """Storage reads hours from the flight's start, or from max_points hours back when the flight is longer."""
    args = {"flight_start_us": T0, "flight_end_us": T0 + 10 * DAY_US, "now_us": T0 + 5 * HOUR_US + 7}
    assert window_start_us(**args, max_points=100) == T0
    assert window_start_us(**args, max_points=2) == T0 + 4 * HOUR_US


def test_series_from_the_window_start_equals_the_series_from_every_hour() -> None:
    """Reading hours from window_start_us and summing the rest gives the same series as reading them all."""
    hours = [HourlySpend(T0 + i * HOUR_US, spend_micros=i + 1) for i in range(30)]
    args = {
        "budget_micros": 10_000,
        "flight_start_us": T0,
        "flight_end_us": T0 + 10 * DAY_US,
        "now_us": T0 + 29 * HOUR_US,
    }
    since = window_start_us(flight_start_us=T0, flight_end_us=T0 + 10 * DAY_US, now_us=T0 + 29 * HOUR_US, max_points=8)
    whole = spend_series(hours, max_points=8, **args)
    split = spend_series(
        [h for h in hours if h.hour_start_us >= since],
        max_points=8,
        earlier_spend_micros=sum(h.spend_micros for h in hours if h.hour_start_us < since),
        **args,
    )
    assert split == whole


def test_a_flagged_edge_carries_its_badge() -> None:
    """An edge flagged for refused charges shows the flag, its latest reason and how many."""
    row = dataclasses.replace(_edge("s1", "e1"), flagged=True, flag_reason="PRICE_ABOVE_TERMS", flag_count=3)
    edge = edges_json([row], T0)["stores"][0]["edges"][0]
    assert (edge["flagged"], edge["flag_reason"], edge["flag_count"]) == (True, "PRICE_ABOVE_TERMS", 3)


def _edge_row(
    *, connected: bool, seen_s_ago: float, applied: str = "v2", answer: str = "ACK", nacked: str = ""
) -> EdgeRow:
    return EdgeRow("s", "e", connected, applied, "v2", answer, T0, 0, "", nacked, T0 - int(seen_s_ago * 1_000_000))


def test_a_connected_edge_in_sync_is_healthy_however_long_since_its_last_message() -> None:
    """An open stream is the heartbeat: a quiet, connected, in-sync edge is healthy an hour after its last message."""
    assert edge_health(_edge_row(connected=True, seen_s_ago=3600), T0) == ("healthy", "connected, healthy")
    assert edge_json(_edge_row(connected=True, seen_s_ago=37), T0)["stale"] is False


def test_a_connected_edge_behind_is_updating_or_refusing() -> None:
    """Connected but behind: taking the latest index, or refusing it when it NACKed that version."""
    assert edge_health(_edge_row(connected=True, seen_s_ago=1, applied="v1"), T0)[0] == "updating"
    refusing = _edge_row(connected=True, seen_s_ago=1, applied="v1", answer="NACK", nacked="v2")
    assert edge_health(refusing, T0)[0] == "refusing"


def test_a_dropped_edge_reconnects_then_goes_offline_with_its_age() -> None:
    """A stream ended less than the reconnect grace ago is reconnecting; after it, offline and stale."""
    assert edge_health(_edge_row(connected=False, seen_s_ago=RECONNECT_GRACE_S - 1), T0)[0] == "reconnecting"
    offline = edge_json(_edge_row(connected=False, seen_s_ago=RECONNECT_GRACE_S + 1), T0)
    assert (offline["health"], offline["stale"]) == ("offline", True)
