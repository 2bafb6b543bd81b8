"""Sensor feeds: file, stream and local TCP socket; malformed lines reported and skipped."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

from cart_client.sensors.feed import TcpSensorFeed, file_feed, merged, paced, stream_feed
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, TraceError, Vision, Weight, Zone

LINES = [
    '{"type":"zone","zone_id":"zone-24","t_ms":0}',
    '{"type":"scan","code":"2000000248523","t_ms":10}',
    "not json",
    '{"type":"weight","delta_g":121.5,"t_ms":20}',
    '{"type":"vision","product_id":"24852","confidence":1.5}',
    '{"type":"vision","product_id":"24852","confidence":0.93,"t_ms":30}',
    '{"type":"touch","slot_id":"slot-0","propensity":0.3,"t_ms":40}',
    '{"type":"touch","button":"help","t_ms":45}',
    '{"type":"checkout","t_ms":50}',
]
EXPECTED: list[SensorEvent] = [
    Zone("zone-24", 0),
    Scan("", 10, code="2000000248523"),
    Weight(121.5, 20),
    Vision("24852", 0.93, 30),
    Touch("slot-0", 40, propensity=0.3),
    Touch("", 45, button="help"),
    Checkout(50),
]


async def test_file_feed_yields_events_and_reports_bad_lines(tmp_path: Path) -> None:
    """A file's good lines become events; each bad line goes to on_error with its line number."""
    path = tmp_path / "trip.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    errors: list[TraceError] = []
    events = [e async for e in file_feed(path, errors.append)]
    assert events == EXPECTED
    assert [e.line_number for e in errors] == [3, 5]
    assert "confidence" in errors[1].message


async def test_stream_feed_reads_a_text_stream() -> None:
    """Standard input works the same way as a file."""
    errors: list[TraceError] = []
    events = [e async for e in stream_feed(io.StringIO("\n".join(LINES)), errors.append)]
    assert events == EXPECTED


async def test_tcp_feed_takes_lines_from_a_sensor_daemon_and_answers_bad_ones() -> None:
    """A client on 127.0.0.1 writes lines; events arrive in order up to checkout; a bad line is answered."""
    errors: list[TraceError] = []
    async with TcpSensorFeed(0, errors.append) as feed:
        reader, writer = await asyncio.open_connection("127.0.0.1", feed.port)
        writer.write(("\n".join(LINES) + "\n").encode())
        await writer.drain()
        events = [e async for e in feed.events()]
        answer = json.loads(await asyncio.wait_for(reader.readline(), 5))
        writer.close()
        await writer.wait_closed()
    assert events == EXPECTED
    assert answer == {"line": 3, "error": "not valid JSON: Expecting value"}
    assert feed.lines_skipped == 2


async def test_tcp_feed_merges_several_sensor_connections() -> None:
    """The scanner and the scale may be separate daemons; both feed the same trip."""
    async with TcpSensorFeed(0) as feed:
        _, scanner = await asyncio.open_connection("127.0.0.1", feed.port)
        _, scale = await asyncio.open_connection("127.0.0.1", feed.port)
        scanner.write(b'{"type":"scan","product_id":"p1"}\n')
        await scanner.drain()
        first = await anext(aiter(feed.events()))
        scale.write(b'{"type":"weight","delta_g":100}\n{"type":"checkout"}\n')
        await scale.drain()
        rest = [e async for e in feed.events()]
        for writer in (scanner, scale):
            writer.close()
            await writer.wait_closed()
    assert [first, *rest] == [Scan("p1"), Weight(100.0), Checkout()]


async def test_paced_replay_keeps_order_and_takes_scaled_time() -> None:
    """A paced feed yields every event in order, no sooner than its t_ms divided by the speed."""

    async def recorded() -> AsyncIterator[SensorEvent]:
        for event in EXPECTED:
            yield event

    loop = asyncio.get_running_loop()
    started = loop.time()
    events = [e async for e in paced(recorded(), speed=500.0)]
    assert events == EXPECTED
    assert loop.time() - started >= 50 / 1000 / 500


async def test_merged_sources_end_with_the_primary() -> None:
    """Events of every source come through; the trip ends when its main feed does, not with a device."""

    async def main() -> AsyncIterator[SensorEvent]:
        yield Zone("z", 1)
        await device_sent.wait()
        yield Checkout(3)

    async def device() -> AsyncIterator[SensorEvent]:
        yield Scan("", 2, code="036000241457")
        device_sent.set()
        await asyncio.Event().wait()  # a device streams until it is no longer read
        yield Checkout(99)

    device_sent = asyncio.Event()
    got = [event async for event in merged(main(), device())]
    assert got == [Zone("z", 1), Scan("", 2, code="036000241457"), Checkout(3)]
