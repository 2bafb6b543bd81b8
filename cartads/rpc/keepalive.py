"""HTTP/2 keepalive and reconnection of the long-lived edge <-> cloud connection, set once per side.

A store's uplink can fail silently (a router drops packets, no RST ever arrives). Without pings,
an idle index stream looks open for as long as TCP takes to give up on a retransmission, which the
edge noticed only ~46 s after a heal. Both ends ping: the edge learns within
``time_ms + timeout_ms`` that the cloud is gone, the cloud as much that the edge is, and gRPC sets
TCP_USER_TIMEOUT from ``timeout_ms`` so unacknowledged writes give up as quickly.

The cloud's policy must allow the edge's rate: a server that receives pings more often than
``min_recv_ping_interval_ms`` (with no data flowing) counts strikes and, past ``max_ping_strikes``,
closes the connection with GOAWAY "too_many_pings", which would turn keepalive into a flap.

Reconnecting: gRPC's own reconnect backoff grows to 120 s by default and a connect attempt waits
up to 20 s, so after a long outage the channel could sleep long past the heal. The edge caps both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientKeepalive:
    """The edge's channel to the cloud: pings, and how soon it redials after a failure."""

    # A ping after this long without one; a ping not acknowledged within timeout_ms drops the
    # connection. A partition is detected within time_ms + timeout_ms (7 s by default).
    time_ms: int = 3_000
    timeout_ms: int = 4_000
    # Redial after a failure after initial_reconnect_ms, growing to at most max_reconnect_ms.
    initial_reconnect_ms: int = 200
    max_reconnect_ms: int = 500
    # How long one connection attempt (TCP, TLS and HTTP/2 handshakes) may take. A lost SYN is
    # retransmitted after 1 s, so an attempt begun during an outage gives up and is retried soon
    # after a heal, while a slow link (300 ms round trips) still has time to connect.
    connect_timeout_ms: int = 2_000

    def channel_options(self) -> list[tuple[str, int]]:
        """Options for grpc.aio channels (the names are gRPC core's channel arguments)."""
        return [
            ("grpc.keepalive_time_ms", self.time_ms),
            ("grpc.keepalive_timeout_ms", self.timeout_ms),
            # The index stream is always open, but assets and uploads may use the channel when it is not.
            ("grpc.keepalive_permit_without_calls", 1),
            # 0: keep pinging on an idle stream; the default (2) stops after two pings without data,
            # which is exactly when an idle index stream needs them.
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.initial_reconnect_backoff_ms", self.initial_reconnect_ms),
            ("grpc.max_reconnect_backoff_ms", self.max_reconnect_ms),
            # Despite its name, gRPC core reads this as the minimum connect timeout.
            ("grpc.min_reconnect_backoff_ms", self.connect_timeout_ms),
        ]


@dataclass(frozen=True)
class ServerKeepalive:
    """The cloud's side: its own pings to each edge, and the edge pings it accepts."""

    # A dead edge is found within time_ms + timeout_ms (6 s), inside the 10 s an operator is promised
    # that `cartads-admin edges list` agrees with the edge's own metrics.
    time_ms: int = 3_000
    timeout_ms: int = 3_000
    # Must be below the edges' ClientKeepalive.time_ms, else their pings count as strikes.
    min_recv_ping_interval_ms: int = 1_000
    max_ping_strikes: int = 2

    def server_options(self) -> list[tuple[str, int]]:
        """Options for grpc.aio.server."""
        return [
            ("grpc.keepalive_time_ms", self.time_ms),
            ("grpc.keepalive_timeout_ms", self.timeout_ms),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_ping_interval_without_data_ms", self.min_recv_ping_interval_ms),
            ("grpc.http2.max_ping_strikes", self.max_ping_strikes),
            # grpc 1.85 closes a connection whose ping goes unanswered on this, not on
            # keepalive_timeout_ms alone (tests/cartads/rpc/test_keepalive.py holds it).
            ("grpc.http2.ping_timeout_ms", self.timeout_ms),
        ]
