"""The faulty link itself, with TCP across it to an echo server in the far namespace."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cartads.bench.netfault.link import DOWN, UP, FaultyLink
from cartads.bench.netfault.policy import BLACK_HOLE, CLEAN, LinkPolicy

ECHO_PORT = 7007
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def echo(link: FaultyLink) -> Iterator[tuple[str, int]]:
    """An echo server at the far end; its address as seen from here."""
    proc = subprocess.Popen(
        [*link.netns_exec(), sys.executable, "-m", "tests.netfault.echo_server", str(ECHO_PORT)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"listening"
        yield link.far_ip, ECHO_PORT
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def round_trip_s(conn: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    conn.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = conn.recv(65536)
        assert chunk, "the far end closed"
        received += chunk
    return time.monotonic() - started


def test_delay_in_each_direction_adds_up_in_a_round_trip(link: FaultyLink, echo: tuple[str, int]) -> None:
    """100 ms up and 50 ms down: a round trip takes at least 150 ms (and well under a second)."""
    with socket.create_connection(echo, timeout=5) as conn:
        link.set(up=LinkPolicy(delay_ms=100), down=LinkPolicy(delay_ms=50))
        assert 0.15 <= round_trip_s(conn) < 1.0


def test_a_black_hole_is_silent_and_the_connection_survives_a_heal(link: FaultyLink, echo: tuple[str, int]) -> None:
    """During a black hole nothing comes back and nothing resets; after the heal the same connection works."""
    with socket.create_connection(echo, timeout=5) as conn:
        link.partition()
        conn.settimeout(1.0)
        with pytest.raises(TimeoutError):
            round_trip_s(conn)
        link.heal()
        conn.settimeout(10.0)
        # TCP retransmits what the black hole ate; the echo of the first ping arrives with the second.
        conn.sendall(b"pong")
        received = b""
        while len(received) < 8:
            received += conn.recv(65536)
        assert received == b"pingpong"


def test_an_uplink_black_hole_alone_stops_round_trips(link: FaultyLink, echo: tuple[str, int]) -> None:
    """Only the edge -> cloud direction down: requests never arrive, so no reply comes."""
    with socket.create_connection(echo, timeout=5) as conn:
        link.set(up=BLACK_HOLE, down=CLEAN)
        conn.settimeout(1.0)
        with pytest.raises(TimeoutError):
            round_trip_s(conn)
    assert link.stats[UP].dropped > 0
    assert link.stats[DOWN].dropped == 0


def test_tcp_delivers_everything_over_a_lossy_link(link: FaultyLink, echo: tuple[str, int]) -> None:
    """10% loss each way: 20 round trips of 4 KB all come back whole, and the link did drop packets."""
    with socket.create_connection(echo, timeout=30) as conn:
        link.set(up=LinkPolicy(loss=0.1), down=LinkPolicy(loss=0.1))
        for n in range(20):
            round_trip_s(conn, bytes([n]) * 4_000)
    assert link.stats[UP].dropped > 0
    assert link.stats[DOWN].dropped > 0


def test_a_flapping_link_passes_traffic_only_in_its_up_windows(link: FaultyLink, echo: tuple[str, int]) -> None:
    """Up 1 s, down 1 s: a round trip begun in an up window is quick, one begun in a down window waits."""
    with socket.create_connection(echo, timeout=10) as conn:
        flapping = LinkPolicy(flap_up_s=1.0, flap_down_s=1.0)
        link.set(up=flapping, down=flapping)
        assert round_trip_s(conn) < 0.5
        time.sleep(1.2)  # into the down window: waiting out the link's own schedule
        assert round_trip_s(conn) > 0.5
