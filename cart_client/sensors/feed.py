"""Sensor feeds: JSON Lines from a file, a stream (standard input) or a local TCP socket.

Each adapter yields parsed ``SensorEvent``s. A malformed line is handed to ``on_error`` with its
line number and skipped: a glitching sensor must never end the trip. The TCP feed is how the cart's
sensor daemons (or ``cartads-sim``) talk to it: each connects to 127.0.0.1 and writes lines; every
connection counts its own line numbers, and a bad line is also answered on that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TextIO

import structlog

from cart_client.sensors.trace import Checkout, SensorEvent, TraceError, parse_trace_line

ErrorSink = Callable[[TraceError], None]


def log_trace_error(error: TraceError) -> None:
    """The default sink: one warning per skipped line."""
    structlog.get_logger("cart_client.sensors").warning(
        "trace_line_skipped", line=error.line_number, error=error.message
    )


async def stream_feed(stream: TextIO, on_error: ErrorSink = log_trace_error) -> AsyncIterator[SensorEvent]:
    """Events from a text stream; lines are read in a thread so a live stdin does not stall the loop."""
    line_number = 0
    while line := await asyncio.to_thread(stream.readline):
        line_number += 1
        parsed = parse_trace_line(line, line_number)
        if isinstance(parsed, TraceError):
            on_error(parsed)
        elif parsed is not None:
            yield parsed


async def file_feed(path: Path, on_error: ErrorSink = log_trace_error) -> AsyncIterator[SensorEvent]:
    """Events from a JSON Lines file."""
    with path.open(encoding="utf-8") as stream:
        async for event in stream_feed(stream, on_error):
            yield event


async def paced(events: AsyncIterator[SensorEvent], speed: float) -> AsyncIterator[SensorEvent]:
    """Replays a recorded trace in (scaled) real time by its ``t_ms``, for watching the screen."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async for event in events:
        if event.t_ms is not None and speed > 0:
            delay_s = started + event.t_ms / 1000 / speed - loop.time()
            if delay_s > 0:
                await asyncio.sleep(delay_s)  # pacing a recording is the point: there is nothing to await
        yield event


async def merged(
    primary: AsyncIterator[SensorEvent], *extras: AsyncIterator[SensorEvent]
) -> AsyncIterator[SensorEvent]:
    """Every source's events as they arrive; ends when ``primary`` ends (its checkout ends the trip).

    The cart's serial scale and scanner stream for as long as they are read; the trip's main feed
    (a trace, the TCP port or the bus) decides when it is over.
    """
    queue: asyncio.Queue[tuple[int, SensorEvent | BaseException | None]] = asyncio.Queue()

    async def pump(index: int, source: AsyncIterator[SensorEvent]) -> None:
        try:
            async for event in source:
                await queue.put((index, event))
        except Exception as exc:  # handed to the reader, who raises it in the trip's own task
            await queue.put((index, exc))
            return
        await queue.put((index, None))

    tasks = [asyncio.create_task(pump(i, source)) for i, source in enumerate((primary, *extras))]
    try:
        while True:
            index, item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is not None:
                yield item
            elif index == 0:
                return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class TcpSensorFeed:
    """A sensor feed served on 127.0.0.1: ``async with`` it, then iterate; ends after a checkout."""

    def __init__(self, port: int = 0, on_error: ErrorSink = log_trace_error, *, host: str = "127.0.0.1") -> None:
        self._host = host
        self._port = port
        self._on_error = on_error
        self._queue: asyncio.Queue[SensorEvent] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.lines_skipped = 0

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        assert self._server is not None, "start the feed first"
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> TcpSensorFeed:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        line_number = 0
        try:
            while raw := await reader.readline():
                line_number += 1
                parsed = parse_trace_line(raw.decode("utf-8", errors="replace"), line_number)
                if isinstance(parsed, TraceError):
                    self.lines_skipped += 1
                    self._on_error(parsed)
                    writer.write(json.dumps({"line": parsed.line_number, "error": parsed.message}).encode() + b"\n")
                elif parsed is not None:
                    await self._queue.put(parsed)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # a sensor daemon that goes away is not the trip's problem
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def events(self) -> AsyncIterator[SensorEvent]:
        """Every event any connection sends, in arrival order, up to and including a checkout."""
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, Checkout):
                return


__all__ = ["ErrorSink", "TcpSensorFeed", "file_feed", "log_trace_error", "merged", "paced", "stream_feed"]
