"""MQTT brokers for the bus tests: the machine's Mosquitto on 127.0.0.1:1883, or one of the test's own.

Tests that need a broker skip with the reason when there is none, and fail instead under CI=true,
where the machine runs Mosquitto. A test that restarts its broker starts its own ``mosquitto`` on a
free port, with persistence in a temporary directory, so it never disturbs the shared one.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.eventually import eventually
from tests.integration.server_processes import free_port

SHARED_HOST, SHARED_PORT = "127.0.0.1", 1883
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def accepts(host: str, port: int) -> bool:
    """Whether something listens on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_shared_broker() -> None:
    """Skip (fail under CI=true) unless Mosquitto listens on 127.0.0.1:1883."""
    if not accepts(SHARED_HOST, SHARED_PORT):
        _missing(
            f"the sensor bus tests need an MQTT broker on {SHARED_HOST}:{SHARED_PORT}"
            " (apt-get install mosquitto; mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
        )


class OwnBroker:
    """A mosquitto process of the test's own, on a free port, that the test may stop and start again."""

    def __init__(self, directory: Path) -> None:
        if MOSQUITTO is None:
            _missing("the broker-restart tests need the mosquitto binary (apt-get install mosquitto)")
        self.binary = str(MOSQUITTO)
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        # Persistence keeps the carts' sessions (subscriptions, queued QoS 1 messages) across a restart.
        # Started as root, mosquitto would switch to its own user, who cannot write the test's private
        # directory: it stays the user who runs the tests (the setting is moot for anyone else).
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {directory}/\nlog_dest file {directory}/mosquitto.log\n"
            f"user {getpass.getuser()}\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start mosquitto and wait until it accepts connections."""
        self._process = await asyncio.to_thread(
            subprocess.Popen, [self.binary, "-c", str(self.config)], stdin=subprocess.DEVNULL
        )
        await eventually(lambda: accepts("127.0.0.1", self.port), timeout_s=10, what="mosquitto accepts")

    async def stop(self) -> None:
        """Stop it as an operator restarting it would (SIGTERM: it saves its persistence file)."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            await asyncio.to_thread(process.wait, 10)

    async def restart(self) -> None:
        """Stop, then start again on the same port."""
        await self.stop()
        await self.start()
