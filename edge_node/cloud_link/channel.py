"""The edge's channel to the cloud: mutual TLS when certificates are configured, plaintext otherwise;
either way with the edge token, when one is configured, on every call."""

from __future__ import annotations

import grpc

from cartads.rpc.bearer import aio_channel
from cartads.rpc.tls import channel_credentials, tls_files
from edge_node.config import EdgeConfig


def open_cloud_channel(config: EdgeConfig, *, own_connection: bool = False) -> grpc.aio.Channel:
    """One channel for index sync, assets and uploads, with the edge's message size caps and keepalive.

    ``own_connection``: a TCP connection of its own rather than one shared with the other channels
    to the cloud (the uploader's extra lanes: over a lossy uplink each connection's throughput is
    bound by its own congestion window, so batches on separate connections add up).
    """
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        *config.cloud_keepalive.channel_options(),
    ]
    if own_connection:
        options.append(("grpc.use_local_subchannel_pool", 1))
    files = tls_files(config.tls_cert_path, config.tls_key_path, config.tls_ca_path, "--tls-ca")
    if files is None:
        return aio_channel(config.cloud_address, config.cloud_token, options=options)
    if config.tls_server_name:
        options.append(("grpc.ssl_target_name_override", config.tls_server_name))
    return aio_channel(
        config.cloud_address, config.cloud_token, credentials=channel_credentials(files), options=options
    )
