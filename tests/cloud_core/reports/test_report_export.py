"""The report export's pure core: a store's request, CSV labels in the store's zone, merging and chunks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.reports.export import Chunker, csv_lines, header, labelled, local_hour_label, merge, store_request
from cloud_core.reports.metrics import Delivery

CHICAGO = ZoneInfo("America/Chicago")


def test_an_hour_after_midnight_utc_is_the_evening_before_in_chicago() -> None:
    """03:00 UTC on Dec 8 is labelled 21:00 on Dec 7 with Chicago's offset."""
    hour = dt_to_us(datetime(2026, 12, 8, 3, tzinfo=UTC))
    assert local_hour_label(hour, CHICAGO) == "2026-12-07T21:00-06:00"


def test_store_request_narrows_to_the_store_and_its_zone() -> None:
    """The per-store request names only that store and its time zone, the rest as asked."""
    request = admin_pb2.RunReportRequest(store_ids=["a", "b"], campaign_ids=["c1"], time_zone="Europe/Berlin")
    one = store_request(request, "b", "America/Chicago")
    assert (list(one.store_ids), one.time_zone, list(one.campaign_ids)) == (["b"], "America/Chicago", ["c1"])


def test_header_names_the_dimension_columns_then_the_metrics() -> None:
    """By store and hour: store_id, time_zone, hour, then requests, impressions, ..."""
    assert header(("store", "hour"))[:5] == ["store_id", "time_zone", "hour", "requests", "impressions"]


def test_labelled_cells_carry_the_zone_arm_and_rule_names() -> None:
    """A row key becomes text cells: store and its zone, a local hour, layer and arm, the rule's name."""
    hour = dt_to_us(datetime(2026, 12, 8, 3, tzinfo=UTC))
    rule = common_pb2.INVALID_TRAFFIC_RULE_CLICK_WITHOUT_IMPRESSION
    cells = labelled(("store", "hour", "ivt_rule"), ("s1", hour, rule), "s1", "America/Chicago", CHICAGO)
    assert cells == ("s1", "America/Chicago", "2026-12-07T21:00-06:00", "INVALID_TRAFFIC_RULE_CLICK_WITHOUT_IMPRESSION")
    assert labelled(("arm",), (("L", "holdout"),), "s1", "", UTC) == ("L", "holdout")


def test_rows_with_the_same_local_label_merge() -> None:
    """Two stores' rows of the same local day add up into one row."""
    rows: dict[tuple[str, ...], Delivery] = {}
    merge(rows, [(("2026-12-07",), Delivery(impressions=2))])
    merge(rows, [(("2026-12-07",), Delivery(impressions=3)), (("2026-12-08",), Delivery(impressions=1))])
    assert {k: d.impressions for k, d in rows.items()} == {("2026-12-07",): 5, ("2026-12-08",): 1}


def test_csv_lines_quote_and_order_rows() -> None:
    """Rows come out sorted by label, a comma inside a cell quoted, the metrics after the labels."""
    text = csv_lines({("b,x",): Delivery(impressions=1), ("a",): Delivery(impressions=4, clicks=1)})
    first, second = csv.reader(io.StringIO(text))
    assert (first[0], first[2], first[3], second[0]) == ("a", "4", "1", "b,x")


def test_chunker_cuts_at_the_size_and_numbers_from_one() -> None:
    """10 bytes fed in 4-byte chunks: two full chunks at once, the rest on flush, the bytes unchanged."""
    chunker = Chunker(chunk_bytes=4)
    full = chunker.feed("0123456789")
    rest = chunker.flush()
    assert [seq for seq, _ in full + rest] == [1, 2, 3]
    assert b"".join(data for _, data in full + rest) == b"0123456789"
    assert chunker.byte_count == 10
