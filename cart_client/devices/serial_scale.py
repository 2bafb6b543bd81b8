"""The cart's scale on its serial line: polled with NCI ``W<CR>``, each answer one raw reading.

The poller asks ``poll_hz`` times a second and yields a ``ScaleReading`` per good answer, in motion
or not as the scale says; the cart's stable-scale filter decides what is settled. An answer that
reports a fault (over or under capacity, a memory or calibration error), a garbled answer and a
scale that does not answer within ``answer_timeout_s`` are reported to ``on_error`` and skipped; a
serial line that fails is reopened with backoff. The trip never ends because of the scale.
"""

from __future__ import annotations

import asyncio
import termios
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import serial
import serial_asyncio_fast
import structlog

from cart_client.devices.nci import ETX, WEIGH, NciError, parse_answer
from cart_client.sensors.trace import ScaleReading

_log = structlog.get_logger("cart_client.devices.scale")

DeviceErrorSink = Callable[[str, str], None]


def log_device_error(device: str, message: str) -> None:
    """The default sink: one warning per skipped answer or failed line."""
    _log.warning("device_reading_skipped", device=device, error=message)


@dataclass(frozen=True, slots=True)
class SerialLine:
    """A serial port and its line settings (NCI scales ship at 9600 7E1, scanners at 9600 8N1)."""

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    @staticmethod
    def parse(text: str, framing: str = "8N1") -> SerialLine:
        """``PORT[,BAUD[,FRAMING]]``, e.g. ``/dev/ttyUSB0,9600,7E1``; raises ValueError saying what is wrong."""
        port, *rest = text.split(",")
        if not port or len(rest) > 2:
            raise ValueError(f"expected PORT[,BAUD[,FRAMING]], got {text!r}")
        baud = rest[0] if rest else "9600"
        framing = rest[1] if len(rest) == 2 else framing
        if not baud.isdigit() or int(baud) <= 0:
            raise ValueError(f"bad baud rate {baud!r} in {text!r}")
        if len(framing) != 3 or framing[0] not in "5678" or framing[1].upper() not in "NEOMS" or framing[2] not in "12":
            raise ValueError(f"bad framing {framing!r} in {text!r} (expected e.g. 8N1 or 7E1)")
        return SerialLine(port, int(baud), int(framing[0]), framing[1].upper(), int(framing[2]))

    async def open(self, limit: int = 2**16) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The line as asyncio streams, through pyserial; raises OSError when the port cannot be opened."""
        try:
            return await serial_asyncio_fast.open_serial_connection(
                url=self.port,
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=self.stopbits,
                limit=limit,
            )
        except (serial.SerialException, termios.error) as exc:
            # Settings the port cannot take (a pty refuses 7E1) are as fatal to this attempt as a missing port.
            raise OSError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class ScalePolling:
    """How often the scale is asked, how long an answer may take, how a failed line is retried."""

    poll_hz: float = 10.0
    answer_timeout_s: float = 0.5
    reopen_initial_s: float = 0.2
    reopen_max_s: float = 5.0


@dataclass(slots=True)
class ScaleStats:
    """What the poller has seen."""

    answers: int = 0
    faults: int = 0
    garbled: int = 0
    timeouts: int = 0
    reopened: int = 0


class NciScale:
    """An NCI scale on a serial line, polled for raw readings."""

    def __init__(
        self, line: SerialLine, polling: ScalePolling | None = None, on_error: DeviceErrorSink = log_device_error
    ) -> None:
        self.line = line
        self.polling = polling or ScalePolling()
        self._on_error = on_error
        self.stats = ScaleStats()

    async def readings(self) -> AsyncIterator[ScaleReading]:
        """Raw readings for as long as the caller iterates."""
        delay_s = self.polling.reopen_initial_s
        while True:
            try:
                reader, writer = await self.line.open()
            except OSError as exc:
                self._on_error(self.line.port, f"cannot open the scale's line: {exc}")
                await asyncio.sleep(delay_s)  # a device that is away can only be waited for
                delay_s = min(delay_s * 2, self.polling.reopen_max_s)
                self.stats.reopened += 1
                continue
            delay_s = self.polling.reopen_initial_s
            try:
                async for reading in self._poll(reader, writer):
                    yield reading
            except (OSError, serial.SerialException, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                # Unplugged, hung up, or a flood without ETX: reopen the line rather than end the trip.
                self._on_error(self.line.port, f"the scale's line failed: {exc!r}")
            finally:
                writer.close()
            self.stats.reopened += 1
            await asyncio.sleep(self.polling.reopen_initial_s)  # a line that just failed gets a moment

    async def _poll(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> AsyncIterator[ScaleReading]:
        interval_s = 1.0 / self.polling.poll_hz
        loop = asyncio.get_running_loop()
        while True:
            asked_at = loop.time()
            writer.write(WEIGH)
            await writer.drain()
            try:
                frame = await asyncio.wait_for(reader.readuntil(ETX), self.polling.answer_timeout_s)
            except TimeoutError:
                self.stats.timeouts += 1
                # A late answer is still the scale's weight: the next read takes it.
                self._on_error(self.line.port, f"no answer within {self.polling.answer_timeout_s} s")
                continue
            reading = self._reading(frame)
            if reading is not None:
                yield reading
            # The poll rate is the device's contract: wait out the rest of the interval.
            await asyncio.sleep(max(0.0, asked_at + interval_s - loop.time()))

    def _reading(self, frame: bytes) -> ScaleReading | None:
        try:
            answer = parse_answer(frame)
        except NciError as exc:
            self.stats.garbled += 1
            self._on_error(self.line.port, str(exc))
            return None
        self.stats.answers += 1
        if answer.status.fault or answer.weight_g is None:
            self.stats.faults += 1
            self._on_error(self.line.port, f"scale fault: {answer.status.fault or 'no weight'}")
            return None
        return ScaleReading(answer.weight_g, motion=answer.status.motion)


__all__ = ["DeviceErrorSink", "NciScale", "ScalePolling", "ScaleStats", "SerialLine", "log_device_error"]
