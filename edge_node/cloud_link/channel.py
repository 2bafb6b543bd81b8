"""The edge's channel to the cloud: mutual TLS when certificates are configured, plaintext otherwise;
either way with the edge token, when one is configured, on every call."""

from __future__ import annotations

import grpc

from cartads.rpc.bearer import aio_channel
from cartads.rpc.tls import channel_credentials, tls_files
from edge_node.config import EdgeConfig


def open_cloud_channel(config: EdgeConfig) -> grpc.aio.Channel:
    """One channel for index sync, assets and uploads, with the edge's message size caps and keepalive."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        *config.cloud_keepalive.channel_options(),
    ]
    files = tls_files(config.tls_cert_path, config.tls_key_path, config.tls_ca_path, "--tls-ca")
    if files is None:
        return aio_channel(config.cloud_address, config.cloud_token, options=options)
    if config.tls_server_name:
        options.append(("grpc.ssl_target_name_override", config.tls_server_name))
    return aio_channel(
        config.cloud_address, config.cloud_token, credentials=channel_credentials(files), options=options
    )
