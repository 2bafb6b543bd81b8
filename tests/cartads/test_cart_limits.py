"""Per-cart limits: one set of defaults for the cloud that compiles them and the edge that enforces them."""

from __future__ import annotations

from cartads.cart_limits import DEFAULT_LIMITS, PerCartLimits, limits_from_pb, limits_to_pb
from cartads.v1 import index_pb2


def test_defaults_are_the_published_limits() -> None:
    """20 calls/s (burst 60), 100 events/s (burst 2,000), 2% of the journal, 8 sessions per cart."""
    assert PerCartLimits() == PerCartLimits(
        calls_per_s=20.0,
        call_burst=60,
        events_per_s=100.0,
        event_burst=2_000,
        journal_share_bps=200,
        sessions_per_cart=8,
    )


def test_limits_have_every_field_of_the_index_message() -> None:
    """A limit added to the index's CartLimits must be added to the shared defaults too."""
    assert set(PerCartLimits.__dataclass_fields__) == set(index_pb2.CartLimits.DESCRIPTOR.fields_by_name)


def test_an_index_without_limits_means_the_defaults() -> None:
    """No limits, or every field 0, gives the defaults; a set field overrides only itself."""
    assert limits_from_pb(None) == DEFAULT_LIMITS
    assert limits_from_pb(index_pb2.CartLimits()) == DEFAULT_LIMITS
    assert limits_from_pb(index_pb2.CartLimits(calls_per_s=5.0)) == PerCartLimits(calls_per_s=5.0)


def test_limits_written_to_the_index_read_back_the_same_with_every_field_set() -> None:
    """The compiled limits name every field, and read back as the limits compiled."""
    custom = PerCartLimits(events_per_s=40.0, journal_share_bps=50)
    written = limits_to_pb(custom)
    assert limits_from_pb(written) == custom
    assert {f.name for f, _ in written.ListFields()} == set(index_pb2.CartLimits.DESCRIPTOR.fields_by_name)
