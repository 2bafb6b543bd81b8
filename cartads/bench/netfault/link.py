"""A running faulty link: a network namespace for the far end (the cloud), a TUN device on each
side, and a forwarder thread that applies each direction's ``LinkPolicy`` to every packet.

The near end stays in the caller's namespace, so an edge started by the caller reaches the cloud
at ``far_ip`` only across the link, while the caller still reaches the edge on loopback. Processes
for the far end start under ``netns_exec()``; they also have a loopback of their own there.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import random
import select
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from cartads.bench.netfault.policy import BLACK_HOLE, CLEAN, LinkPolicy
from cartads.bench.netfault.tun import NetfaultUnavailableError, address_in_use, ip, open_tun

UP = "up"  # near -> far: the edge's uplink to the cloud
DOWN = "down"  # far -> near
_READS_PER_WAKE = 256
_counter = itertools.count()


@dataclass
class DirectionStats:
    """Packets seen in one direction, and how many of them the link dropped."""

    packets: int = 0
    dropped: int = 0


class _Forwarder(threading.Thread):
    def __init__(self, near_fd: int, far_fd: int, rng: random.Random) -> None:
        super().__init__(daemon=True, name="netfault-forwarder")
        self._direction_of = {near_fd: UP, far_fd: DOWN}
        self._out = {UP: far_fd, DOWN: near_fd}
        now = time.monotonic()
        self._policies = {UP: (CLEAN, now), DOWN: (CLEAN, now)}
        self._rng = rng
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stopping = False
        self.stats = {UP: DirectionStats(), DOWN: DirectionStats()}

    def set_policy(self, direction: str, policy: LinkPolicy) -> None:
        # One tuple assignment: the forwarder reads either the old pair or the new one.
        self._policies[direction] = (policy, time.monotonic())

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def run(self) -> None:
        poller = select.poll()
        for fd in (*self._direction_of, self._wake_r):
            poller.register(fd, select.POLLIN)
        # (due, order, direction, packet); order breaks ties so packets never compare.
        queue: list[tuple[float, int, str, bytes]] = []
        last_due = {UP: 0.0, DOWN: 0.0}
        order = itertools.count()
        while not self._stopping:
            timeout_ms = None if not queue else max(0, math.ceil((queue[0][0] - time.monotonic()) * 1000))
            for fd, _ in poller.poll(timeout_ms):
                if fd == self._wake_r:
                    os.read(self._wake_r, 64)
                    continue
                direction = self._direction_of[fd]
                for _ in range(_READS_PER_WAKE):
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    now = time.monotonic()
                    stats = self.stats[direction]
                    stats.packets += 1
                    policy, since = self._policies[direction]
                    transit_s = policy.transit_s(now - since, self._rng)
                    if transit_s is None:
                        stats.dropped += 1
                        continue
                    # A link is a queue: a packet never overtakes the one before it.
                    due = max(now + transit_s, last_due[direction])
                    last_due[direction] = due
                    heapq.heappush(queue, (due, next(order), direction, packet))
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                _, _, direction, packet = heapq.heappop(queue)
                try:
                    os.write(self._out[direction], packet)
                except OSError:  # the device's queue is full, or it is going away: lost, as on a wire
                    self.stats[direction].dropped += 1


class FaultyLink:
    """A link between this namespace (``near_ip``) and a new one (``namespace``, ``far_ip``).

    Use as a context manager; raises NetfaultUnavailableError when the machine cannot build it.
    """

    def __init__(self, seed: int | None = None) -> None:
        n = next(_counter)
        tag = f"{os.getpid() % 100_000}{n}"
        self.namespace = f"cartads-nf-{tag}"
        self._near_name = f"nfn{tag}"[:15]
        self._far_name = f"nff{tag}"[:15]
        # Loss and jitter decisions: seeded, so a run can be repeated.
        self._rng = random.Random(seed)
        self.near_ip = self.far_ip = ""
        self._fds: list[int] = []
        self._forwarder: _Forwarder | None = None
        self._namespace_made = False

    def __enter__(self) -> FaultyLink:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _claim_near_address(self) -> None:
        # Addresses come from an unseeded source: links opened at once by parallel test workers
        # (whose packet decisions share a seed) must not pick the same pair. A pair another link
        # took meanwhile makes ``ip addr add`` fail: the next pair is tried.
        picker = random.Random()
        for _ in range(32):
            third, fourth = picker.randrange(256), picker.randrange(64) * 4
            near, far = f"10.213.{third}.{fourth + 2}", f"10.213.{third}.{fourth + 1}"
            if address_in_use(f"{near} ") or address_in_use(f"{near}/"):
                continue
            try:
                ip("addr", "add", near, "peer", far, "dev", self._near_name)
            except NetfaultUnavailableError:
                continue
            self.near_ip, self.far_ip = near, far
            return
        raise NetfaultUnavailableError("no free address pair in 10.213.0.0/16")

    def _open(self) -> None:
        ip("netns", "add", self.namespace)
        self._namespace_made = True
        ip("-n", self.namespace, "link", "set", "lo", "up")
        near_fd = open_tun(self._near_name)
        self._fds.append(near_fd)
        self._claim_near_address()
        # The far device is made here and moved: its fd keeps working from this namespace.
        far_fd = open_tun(self._far_name)
        self._fds.append(far_fd)
        ip("link", "set", self._far_name, "netns", self.namespace)
        ip("-n", self.namespace, "addr", "add", self.far_ip, "peer", self.near_ip, "dev", self._far_name)
        ip("-n", self.namespace, "link", "set", self._far_name, "up")
        ip("link", "set", self._near_name, "up")
        self._forwarder = _Forwarder(near_fd, far_fd, self._rng)
        self._forwarder.start()

    def close(self) -> None:
        """Stop forwarding, remove both devices and the namespace. Idempotent."""
        if self._forwarder is not None:
            self._forwarder.stop()
            self._forwarder = None
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        if self._namespace_made:
            self._namespace_made = False
            # Already gone: nothing left to clean.
            with contextlib.suppress(NetfaultUnavailableError):
                ip("netns", "del", self.namespace)

    def netns_exec(self) -> list[str]:
        """The command prefix that runs a program at the far end."""
        return ["ip", "netns", "exec", self.namespace]

    def set(self, *, up: LinkPolicy | None = None, down: LinkPolicy | None = None) -> None:
        """Change a direction's policy (the other keeps its own); effective from the next packet."""
        assert self._forwarder is not None, "the link is not open"
        if up is not None:
            self._forwarder.set_policy(UP, up)
        if down is not None:
            self._forwarder.set_policy(DOWN, down)

    def partition(self) -> None:
        """Both directions drop everything, silently."""
        self.set(up=BLACK_HOLE, down=BLACK_HOLE)

    def heal(self) -> None:
        """Both directions pass everything at once."""
        self.set(up=CLEAN, down=CLEAN)

    @property
    def stats(self) -> dict[str, DirectionStats]:
        """Per direction (``UP``, ``DOWN``), packets seen and dropped."""
        assert self._forwarder is not None, "the link is not open"
        return self._forwarder.stats
