"""Peers on pseudo-terminals: a test plays the scale or the scanner at the other end of a real tty.

``os.openpty`` gives a master and a slave; the cart's code opens the slave's path through pyserial
as it would /dev/ttyUSB0, and the peer reads and writes the master from the event loop.
"""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import Iterator


class PtyPeer:
    """The far end of a pseudo-terminal; ``port`` is the path the device code opens."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self.master)
        self.port = os.ttyname(self._slave)
        os.set_blocking(self.master, False)

    def write(self, data: bytes) -> None:
        """Send bytes to the device code."""
        os.write(self.master, data)

    def close(self) -> None:
        """Hang up both ends."""
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self._slave)


class NciScalePeer(PtyPeer):
    """A scale answering each ``W<CR>`` with its next prepared answer (the last one repeats)."""

    def __init__(self, answers: list[bytes | None]) -> None:
        super().__init__()
        self._answers: Iterator[bytes | None] = iter(answers)
        self._last: bytes | None = answers[-1] if answers else None
        self.requests: list[bytes] = []
        self._pending = b""
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            self._pending += os.read(self.master, 1024)
        except BlockingIOError:
            return
        while b"\r" in self._pending:
            command, self._pending = self._pending.split(b"\r", 1)
            self.requests.append(command)
            answer = next(self._answers, self._last)
            if answer is not None:  # None: the scale stays silent this once
                self.write(answer)
