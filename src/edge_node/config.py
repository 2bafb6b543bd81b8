"""The edge node's configuration, built once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024 * 1024 * 1024
# A whole store's index travels in one message, so the cap is well above gRPC's 4 MiB default.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class EdgeConfig:
    """Everything ``start_edge`` needs; units are in the names."""

    store_id: str
    edge_id: str
    cloud_address: str
    data_dir: str
    listen_address: str = "127.0.0.1:50061"
    # HTTP /metrics, /healthz, /readyz; None serves no ops endpoint.
    ops_listen_address: str | None = None
    # Uploader: a batch is at most this many events; an idle uploader polls this often.
    upload_batch_max_events: int = 500
    upload_interval_s: float = 0.5
    upload_timeout_s: float = 10.0
    upload_backoff_initial_s: float = 0.2
    upload_backoff_max_s: float = 5.0
    # Index sync client reconnects with jittered exponential backoff between these bounds.
    sync_backoff_initial_s: float = 0.2
    sync_backoff_max_s: float = 5.0
    # LMDB: map sizes are address space reserved, not disk used.
    index_map_size_bytes: int = GIB
    journal_map_size_bytes: int = GIB
    max_readers: int = 126
    # How many acknowledged event ids the journal remembers, to count late re-sends as duplicates.
    journal_dedupe_window_events: int = 100_000
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # Request limits.
    default_max_ads: int = 1
    max_ads_limit: int = 10
    max_slots: int = 10
    max_basket_lines: int = 500
    max_events_per_report: int = 1000
    max_id_chars: int = 128
    # Frequency state is kept for this many cart sessions; the least recently used are forgotten.
    max_sessions: int = 100_000
    # Remembered (ad, event kind) pairs, so a token adds to local spend once per kind.
    max_billed_ads: int = 200_000
