"""The reported-events file cartads-sim writes and cartads-admin billing reconcile reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cartads.reported_file import CartReported, ReportedEvents, ReportedFileError, parse_reported

RUN = ReportedEvents(
    "store-1", datetime(2026, 12, 7, 18, 0, tzinfo=UTC), {"b": CartReported(1, 0, 5), "a": CartReported(3, 1, 9)}
)


def test_file_round_trips() -> None:
    """What to_json writes, parse_reported reads back as the same run."""
    assert parse_reported(RUN.to_json()) == RUN


def test_total_adds_every_cart() -> None:
    """The run's total is the carts' counts added up."""
    assert RUN.total() == CartReported(4, 1, 14)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[]", '"carts"'),
        ('{"store_id": "", "start_time": "2026-12-07T18:00:00Z", "carts": {}}', '"store_id"'),
        ('{"store_id": "s", "start_time": "2026-12-07T18:00:00", "carts": {}}', "zone"),
        ('{"store_id": "s", "start_time": "2026-12-07T18:00:00Z", "carts": {"c": {"clicks": -1}}}', "carts.c.clicks"),
        ("{", "not JSON"),
    ],
)
def test_a_bad_file_is_refused_naming_what_is_wrong(text: str, names: str) -> None:
    """Malformed JSON, a missing store, a time without zone, a negative count: one error naming it."""
    with pytest.raises(ReportedFileError, match=names):
        parse_reported(text)
