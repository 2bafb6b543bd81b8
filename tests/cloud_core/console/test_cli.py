"""cartads-cloud --console-listen: the console as a real process serves, reports its port and refuses bad addresses."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from cloud_core.app import cli


async def _cloud(tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_core.app.cli",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--listen",
        "127.0.0.1:0",
        *args,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_console_port_zero_is_reported_and_serves(tmp_path: Path) -> None:
    """With --console-listen 127.0.0.1:0 the cloud prints the console URL, which serves the page and guards the API."""
    proc = await _cloud(tmp_path, "--console-listen", "127.0.0.1:0")
    assert proc.stderr is not None
    try:
        url = ""
        while not url:
            line = (await asyncio.wait_for(proc.stderr.readline(), 15.0)).decode()
            assert line, "cloud exited before serving its console"
            if match := re.search(r"console on (http://\S+)", line):
                url = match.group(1)
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as page:
                assert page.status == 200
                assert "operator console" in await page.text()
            async with http.get(url + "api/edges") as api:
                assert api.status == 401
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15.0) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_console_on_a_taken_port_fails_to_start_with_a_message(tmp_path: Path) -> None:
    """A console port already in use stops the cloud from starting, exit 2, naming the console."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await _cloud(tmp_path, "--console-listen", f"127.0.0.1:{port}")
        _, err = await asyncio.wait_for(proc.communicate(), 30.0)
    assert proc.returncode == 2
    assert f"error: console: cannot listen on 127.0.0.1:{port}" in err.decode()


def test_malformed_console_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--console-listen without a port is refused before anything starts."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--console-listen", "localhost"])
    assert exit_info.value.code == 2
    assert "console address must be HOST:PORT" in capsys.readouterr().err


def test_help_documents_the_console_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """cartads-cloud --help names --console-listen and its environment variable."""
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "--console-listen" in out
    assert "CARTADS_CONSOLE_LISTEN" in out
