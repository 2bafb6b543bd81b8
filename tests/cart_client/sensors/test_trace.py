"""Reading and writing sensor traces."""

from __future__ import annotations

import pytest

from cart_client.sensors.trace import (
    Checkout,
    ScaleReading,
    Scan,
    SensorEvent,
    Touch,
    TraceError,
    Weight,
    Zone,
    dump_trace,
    parse_trace_lines,
)


def test_parses_every_event_kind() -> None:
    """Each kind of line becomes its event, with t_ms when given."""
    lines = [
        '{"type": "zone", "zone_id": "zone-24", "t_ms": 0}',
        '{"type": "scan", "product_id": "24852", "t_ms": 1500}',
        '{"type": "weight", "delta_g": 118.5}',
        '{"type": "weight", "delta_g": -40}',
        '{"type": "touch", "slot_id": "slot-0"}',
        '{"type": "checkout", "t_ms": 90000}',
    ]
    assert list(parse_trace_lines(lines)) == [
        Zone("zone-24", 0),
        Scan("24852", 1500),
        Weight(118.5),
        Weight(-40.0),
        Touch("slot-0"),
        Checkout(90000),
    ]


def test_blank_lines_are_skipped_silently() -> None:
    """Blank lines yield nothing, and later lines keep their own line numbers."""
    parsed = list(parse_trace_lines(["\n", '{"type": "checkout"}\n', "   \n", "nope\n"]))
    assert parsed[0] == Checkout()
    assert isinstance(parsed[1], TraceError)
    assert parsed[1].line_number == 4


def test_extra_fields_are_ignored() -> None:
    """A field this cart does not know (from a newer sensor) does not make the line bad."""
    assert list(parse_trace_lines(['{"type": "scan", "product_id": "1", "confidence": 0.9}'])) == [Scan("1")]


@pytest.mark.parametrize(
    ("line", "message_part"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"product_id": "1"}', "missing field 'type'"),
        ('{"type": "teleport"}', "unknown event type 'teleport'"),
        ('{"type": "scan"}', "a scan needs 'product_id' or 'code'"),
        ('{"type": "scan", "product_id": 24852}', "'product_id' must be a string"),
        ('{"type": "scan", "product_id": ""}', "'product_id' must not be empty"),
        ('{"type": "weight", "delta_g": "heavy"}', "'delta_g' must be a number"),
        ('{"type": "weight", "delta_g": true}', "'delta_g' must be a number"),
        ('{"type": "weight", "delta_g": NaN}', "'delta_g' must be finite"),
        ('{"type": "zone"}', "missing field 'zone_id'"),
        ('{"type": "scale"}', "missing field 'gross_g'"),
        ('{"type": "scale", "gross_g": 12, "motion": "yes"}', "'motion' must be true or false"),
        ('{"type": "touch", "slot_id": null}', "'slot_id' must be a string"),
        ('{"type": "checkout", "t_ms": 1.5}', "'t_ms' must be an integer"),
        ('{"type": "checkout", "t_ms": -1}', "'t_ms' must not be negative"),
    ],
)
def test_malformed_line_is_reported_with_its_line_number(line: str, message_part: str) -> None:
    """A malformed line becomes a TraceError naming the line and the problem; the next line still parses."""
    parsed = list(parse_trace_lines(['{"type": "zone", "zone_id": "z"}', line, '{"type": "checkout"}']))
    assert parsed[0] == Zone("z")
    error = parsed[1]
    assert isinstance(error, TraceError)
    assert error.line_number == 2
    assert message_part in error.message
    assert parsed[2] == Checkout()


def test_dump_then_parse_round_trips() -> None:
    """What dump_trace writes, parse_trace_lines reads back unchanged."""
    events: list[SensorEvent] = [
        Zone("zone-24", 10),
        Scan("24852", 20),
        Weight(118.5, 21),
        ScaleReading(1_204.5, 22),
        ScaleReading(880.0, 23, motion=True),
        Touch("slot-1"),
        Checkout(99),
    ]
    lines = list(dump_trace(events))
    assert all("\n" not in line for line in lines)
    assert list(parse_trace_lines(lines)) == events


def test_dump_omits_missing_t_ms() -> None:
    """An event without a time is written without a t_ms field."""
    assert list(dump_trace([Checkout()])) == ['{"type":"checkout"}']
