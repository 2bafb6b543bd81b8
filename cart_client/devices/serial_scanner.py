"""The cart's barcode scanner on its serial line: each symbol it reads, one line of raw text.

Scanners in serial mode send the decoded symbol followed by a suffix (carriage return by default,
often CR LF), optionally prefixed by its AIM symbology identifier (``]E0``, ``]C1``...). GS1-128 and
DataBar symbols keep their FNC1 separators as ASCII GS. The scanner does not judge what it read:
every line becomes a ``Scan`` with the raw ``code``, and the trip decides whether to trust it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import serial

from cart_client.devices.serial_scale import DeviceErrorSink, SerialLine, log_device_error
from cart_client.sensors.trace import Scan

# A symbol longer than this is line noise, not a barcode.
MAX_SYMBOL_BYTES = 256


class SerialScanner:
    """A barcode scanner on a serial line (scanners ship at 9600 8N1, ``SerialLine``'s default)."""

    def __init__(
        self,
        line: SerialLine,
        *,
        reopen_initial_s: float = 0.2,
        reopen_max_s: float = 5.0,
        on_error: DeviceErrorSink = log_device_error,
    ) -> None:
        self.line = line
        self._reopen = (reopen_initial_s, reopen_max_s)
        self._on_error = on_error
        self.symbols = 0
        self.noise_lines = 0
        # Set while the line is open: opening a port discards what was sent before.
        self.opened = asyncio.Event()

    async def scans(self) -> AsyncIterator[Scan]:
        """Every symbol read, for as long as the caller iterates."""
        delay_s, max_s = self._reopen
        while True:
            try:
                reader, writer = await self.line.open(limit=MAX_SYMBOL_BYTES * 4)
            except OSError as exc:
                self._on_error(self.line.port, f"cannot open the scanner's line: {exc}")
                await asyncio.sleep(delay_s)  # a device that is away can only be waited for
                delay_s = min(delay_s * 2, max_s)
                continue
            delay_s = self._reopen[0]
            self.opened.set()
            try:
                async for scan in self._lines(reader):
                    yield scan
            except (OSError, serial.SerialException) as exc:
                self._on_error(self.line.port, f"the scanner's line failed: {exc!r}")
            finally:
                self.opened.clear()
                writer.close()
            await asyncio.sleep(self._reopen[0])  # a line that just failed or hung up gets a moment

    async def _lines(self, reader: asyncio.StreamReader) -> AsyncIterator[Scan]:
        pending = b""
        while chunk := await reader.read(MAX_SYMBOL_BYTES):
            pending += chunk
            *lines, pending = pending.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
            for raw in lines:
                scan = self._scan(raw)
                if scan is not None:
                    yield scan
            if len(pending) > MAX_SYMBOL_BYTES:
                self.noise_lines += 1
                self._on_error(self.line.port, f"{len(pending)} bytes without a line end: dropped")
                pending = b""

    def _scan(self, raw: bytes) -> Scan | None:
        text = raw.decode("ascii", errors="replace").strip(" ")
        if not text:
            return None
        if not text.isprintable() and "\x1d" not in text:
            self.noise_lines += 1
            self._on_error(self.line.port, f"unprintable scanner line {raw!r}: dropped")
            return None
        self.symbols += 1
        return Scan("", code=text)


__all__ = ["MAX_SYMBOL_BYTES", "SerialScanner"]
