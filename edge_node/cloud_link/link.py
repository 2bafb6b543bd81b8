"""The state of the edge's connection to the cloud, followed from the channel itself.

The retry loops (index stream, uploads) back off after each failure. After an outage their delays
have grown, and gRPC may reconnect while they sleep: ``pause`` ends a retry delay as soon as the
channel becomes READY again, so index sync and uploads resume within moments of a heal instead of
at the end of whatever delay they had reached. A channel that is READY while the cloud refuses
calls does not wake anyone early: the delays then hold, as a refusing cloud must not be hammered.
"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import structlog

_log = structlog.get_logger("edge.cloud_link")


class CloudLink:
    """Watches one channel's connectivity (``run``) and wakes ``pause`` on each transition to READY."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel
        self.state = grpc.ChannelConnectivity.IDLE
        # Counts transitions to READY; a pause that sees it change returns early.
        self._ready_count = 0
        self._changed = asyncio.Condition()

    @property
    def ready(self) -> bool:
        """Whether the channel holds a working connection to the cloud."""
        return self.state is grpc.ChannelConnectivity.READY

    async def run(self) -> None:
        """Follow the channel until cancelled, asking it to reconnect whenever it is not connected,
        so a heal is found by gRPC's redial rather than by the next call."""
        state = self._channel.get_state(try_to_connect=True)
        while True:
            await self._set(state)
            await self._channel.wait_for_state_change(state)
            state = self._channel.get_state(try_to_connect=True)

    async def _set(self, state: grpc.ChannelConnectivity) -> None:
        if state is self.state:
            return
        _log.info("cloud link", state=state.name, was=self.state.name)
        self.state = state
        async with self._changed:
            if state is grpc.ChannelConnectivity.READY:
                self._ready_count += 1
            self._changed.notify_all()

    async def pause(self, delay_s: float) -> None:
        """Sleep ``delay_s``, or less: until the channel (not ready when the pause began) becomes READY."""
        # Asked of the channel, not of ``state``: a call may have just failed on a connection that
        # this watcher has not yet seen go.
        if self._channel.get_state() is grpc.ChannelConnectivity.READY:
            await asyncio.sleep(delay_s)
            return
        start = self._ready_count
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s), self._changed:
                await self._changed.wait_for(lambda: self._ready_count != start)
