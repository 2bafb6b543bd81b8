"""The cloud's configuration, built once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CloudConfig:
    """Everything ``start_cloud`` needs; units are in the names."""

    db_path: str
    listen_address: str = "127.0.0.1:50051"
    # How long to wait after a change before recompiling, so a burst of admin calls costs one push.
    push_delay_s: float = 0.1
    # A whole store's index travels in one message, so the cap is well above gRPC's 4 MiB default.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    token_ttl_s: int = 7200
    reserve_cpm_micros: int = 0
    # Recompile connected stores this often even without a change, so budget allowances stay fresh.
    index_refresh_s: float = 60.0
