"""The scale and the scanner on real serial lines (pseudo-terminals), with peers playing the devices."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest

from cart_client.devices.nci import NciStatus, encode_answer
from cart_client.devices.serial_scale import NciScale, ScalePolling, SerialLine
from cart_client.devices.serial_scanner import SerialScanner
from cart_client.sensors.trace import ScaleReading, Scan, SensorEvent
from cart_client.trip.catalog import CartCatalog, CatalogItem
from cart_client.trip.core import CartTrip
from cart_client.trip.scale import StableScale
from tests.cart_client.devices.peers import NciScalePeer, PtyPeer
from tests.eventually import eventually

FAST = ScalePolling(poll_hz=200, answer_timeout_s=0.2)


@pytest.fixture
def errors() -> list[tuple[str, str]]:
    """What the devices reported and skipped."""
    return []


async def _take(readings: AsyncIterator[ScaleReading], count: int) -> list[ScaleReading]:
    out = []
    async for reading in readings:
        out.append(reading)
        if len(out) == count:
            break
    return out


def _noisy_stream() -> list[bytes | None]:
    empty = [encode_answer(NciStatus(at_zero=True), 0.0)] + [
        encode_answer(NciStatus(), g) for g in (0.001, 0.0, 0.002, 0.001)
    ]
    swing = [encode_answer(NciStatus(motion=True), g) for g in (0.310, 0.655)]
    wobble = [encode_answer(NciStatus(), g) for g in (0.540, 0.470)]  # unflagged, but far from settled
    settled = [encode_answer(NciStatus(), g) for g in (0.501, 0.499, 0.500, 0.502, 0.500, 0.501)]
    return [*empty, *swing, *wobble, *settled]


async def test_a_noisy_scale_stream_gives_the_stable_weight(errors: list[tuple[str, str]]) -> None:
    """Polled over a tty, a swinging then settling NCI scale yields one stable change of its load."""
    peer = NciScalePeer(_noisy_stream())
    try:
        scale = NciScale(SerialLine(peer.port), FAST, on_error=lambda d, m: errors.append((d, m)))
        readings = await asyncio.wait_for(_take(scale.readings(), 15), 10)
    finally:
        peer.close()
    assert [r.motion for r in readings[5:7]] == [True, True]
    stable = StableScale()
    deltas = [d for i, r in enumerate(readings) if (d := stable.reading(r.gross_g, i * 5, motion=r.motion)) is not None]
    assert deltas == [pytest.approx(500.0, abs=1.0)]
    assert set(peer.requests) == {b"W"}
    assert errors == []


async def test_faults_garbled_and_silent_answers_are_reported_and_skipped(errors: list[tuple[str, str]]) -> None:
    """Over capacity, calibration error, garbled status, a refused command, silence: each reported, polling goes on."""
    answers: list[bytes | None] = [
        encode_answer(NciStatus(over_capacity=True), 0.0),
        encode_answer(NciStatus(calibration_error=True), 0.25),
        b"\n#!\r\x03",
        b"\n?\r\x03",
        None,
        encode_answer(NciStatus(), 0.250),
    ]
    peer = NciScalePeer(answers)
    try:
        scale = NciScale(SerialLine(peer.port), FAST, on_error=lambda d, m: errors.append((d, m)))
        (reading,) = await asyncio.wait_for(_take(scale.readings(), 1), 10)
    finally:
        peer.close()
    assert reading == ScaleReading(250.0)
    reasons = [message for _, message in errors]
    assert reasons[:2] == ["scale fault: over capacity", "scale fault: calibration error"]
    assert "bad status bytes" in reasons[2]
    assert "did not recognise" in reasons[3]
    assert reasons[4].startswith("no answer within")
    assert (scale.stats.faults, scale.stats.garbled, scale.stats.timeouts) == (2, 2, 1)


async def test_a_missing_port_is_reported_and_retried(errors: list[tuple[str, str]]) -> None:
    """A scale whose port does not exist (unplugged) is reported, not fatal."""
    polling = ScalePolling(reopen_initial_s=0.01, reopen_max_s=0.02)
    scale = NciScale(SerialLine("/dev/cartads-no-such-tty"), polling, on_error=lambda d, m: errors.append((d, m)))
    task = asyncio.create_task(_take(scale.readings(), 1))
    await eventually(lambda: scale.stats.reopened >= 2, what="two attempts to open the missing port")
    task.cancel()
    assert errors[0][1].startswith("cannot open the scale's line")


async def _scans(scanner: SerialScanner, count: int) -> list[Scan]:
    out = []
    async for scan in scanner.scans():
        out.append(scan)
        if len(out) == count:
            break
    return out


async def test_the_scanner_sends_raw_symbols_line_by_line(errors: list[tuple[str, str]]) -> None:
    """CR, LF or CR LF end a symbol; AIM prefixes and GS separators are kept; unprintable noise is dropped."""
    peer = PtyPeer()
    try:
        scanner = SerialScanner(SerialLine(peer.port), on_error=lambda d, m: errors.append((d, m)))
        reading = asyncio.create_task(_scans(scanner, 3))
        await asyncio.wait_for(scanner.opened.wait(), 10)
        peer.write(b"036000241457\r")
        peer.write(b"\x01\x02\x07\r\n")
        peer.write(b"]C10109501101530003" + b"10LOT7\x1d3922499\r\n")
        peer.write(b"9638")
        peer.write(b"5074\n")
        scans = await asyncio.wait_for(reading, 10)
    finally:
        peer.close()
    assert [s.code for s in scans] == ["036000241457", "]C10109501101530003" + "10LOT7\x1d3922499", "96385074"]
    assert len(errors) == 1
    assert "unprintable" in errors[0][1]


async def test_scanner_and_scale_on_their_lines_fill_the_basket() -> None:
    """A scan from the serial scanner and the serial scale's settled weight put the product in the basket."""
    catalog = CartCatalog([CatalogItem("cola", "Cola", weight_g=500.0, tolerance_g=50.0, gtin="00036000241457")])
    ids: Iterator[int] = itertools.count()
    trip = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: str(next(ids)), catalog=catalog)
    scale_peer, scanner_peer = NciScalePeer(_noisy_stream()), PtyPeer()
    try:
        scale = NciScale(SerialLine(scale_peer.port), FAST)
        scanner = SerialScanner(SerialLine(scanner_peer.port))
        reading = asyncio.create_task(_scans(scanner, 1))
        await asyncio.wait_for(scanner.opened.wait(), 10)
        scanner_peer.write(b"]E0036000241457\r")
        (scan,) = await asyncio.wait_for(reading, 10)
        events: list[SensorEvent] = [scan, *await asyncio.wait_for(_take(scale.readings(), 15), 10)]
    finally:
        scale_peer.close()
        scanner_peer.close()
    for t_ms, event in enumerate(events):
        trip.feed(event, t_ms * 50)
    assert trip.basket == {"cola": 1}


async def test_a_scale_that_hangs_up_is_reported_not_fatal(errors: list[tuple[str, str]]) -> None:
    """Unplugging the scale mid-trip is reported and retried; the readings never raise."""
    peer = NciScalePeer([encode_answer(NciStatus(), 0.1)])
    polling = ScalePolling(poll_hz=100, answer_timeout_s=0.2, reopen_initial_s=0.01, reopen_max_s=0.05)
    scale = NciScale(SerialLine(peer.port), polling, on_error=lambda d, m: errors.append((d, m)))
    readings = scale.readings()
    assert (await asyncio.wait_for(anext(readings), 10)).gross_g == pytest.approx(100.0)
    peer.close()

    async def next_reading() -> ScaleReading:
        return await anext(readings)

    pending = asyncio.create_task(next_reading())
    await eventually(lambda: scale.stats.reopened >= 2, what="the poller retried the lost line")
    assert not pending.done()
    pending.cancel()
    assert any("failed" in message or "cannot open" in message or "no answer" in message for _, message in errors)
