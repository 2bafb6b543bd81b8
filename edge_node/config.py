"""The edge node's configuration, built once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field

from cartads import bounds
from cartads.rpc.keepalive import ClientKeepalive

GIB = 1024 * 1024 * 1024
# The journal's limits. A busy store: 120 carts shopping for 24 hours, each reporting an event every
# 2 s (60 events/s, 5.2 million a day) at up to ~600 bytes journaled per event (an ad event with
# its tracking token; basket events are smaller): about 3 GiB a day. The soft limit holds two such
# days before paid ads stop (budget leases bound what the store spends offline long before that);
# the hard limit adds two more before ReportEvents is refused. Together with LMDB's own pages the
# journal needs up to twice the hard limit on the edge's disk (docs: README, "Events and billing").
JOURNAL_SOFT_LIMIT_BYTES = 6 * GIB
JOURNAL_HARD_LIMIT_BYTES = 12 * GIB
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
    # Uploader: one batch in flight, in seq order (the cloud judges clicks against impressions it has
    # recorded). A batch starts at upload_batch_start_events and adapts to the link up to
    # upload_batch_max_events (the contract's bound, cartads/bounds.py), and is sent gzipped
    # (edge_node/events/batch_size.py). An idle uploader polls every upload_interval_s.
    upload_batch_start_events: int = 500
    upload_batch_max_events: int = bounds.MAX_EVENTS_PER_UPLOAD
    upload_gzip: bool = True
    upload_interval_s: float = 0.5
    # After new events wake the uploader it waits this long for more, so a burst is one batch.
    upload_linger_s: float = 0.02
    upload_timeout_s: float = 10.0
    upload_backoff_initial_s: float = 0.2
    upload_backoff_max_s: float = 5.0
    # GetAds request counts are journaled (and so uploaded) this often (edge_node/events/request_counts.py).
    request_counts_flush_s: float = 10.0
    # Index sync client reconnects with jittered exponential backoff between these bounds.
    sync_backoff_initial_s: float = 0.2
    sync_backoff_max_s: float = 5.0
    # A stream open this long (or one that brought an update) counts as healthy: the backoff restarts.
    sync_healthy_after_s: float = 30.0
    # HTTP/2 keepalive and redialling of the cloud channel (cartads/rpc/keepalive.py): a silent
    # partition ends the index stream within time_ms + timeout_ms; a heal is noticed within ~2 s.
    cloud_keepalive: ClientKeepalive = field(default_factory=ClientKeepalive)
    # LMDB: map sizes are address space reserved, not disk used.
    index_map_size_bytes: int = GIB
    # Largest index accepted; 0 means half the map less a margin, because LMDB keeps the old
    # version's pages until the write transaction that replaces it commits.
    index_max_bytes: int = 0
    # Mutual TLS to the cloud: our certificate and key, the CA that signs the cloud's certificate, and
    # the name to check it for (default: the host of cloud_address). None (all three) is plaintext.
    tls_cert_path: str | None = None
    tls_key_path: str | None = None
    tls_ca_path: str | None = None
    tls_server_name: str | None = None
    # The edge token (role edge, bound to this store) sent as "authorization: Bearer ..." to the cloud;
    # None sends none, which only a cloud that knows the edge by its mTLS certificate accepts.
    cloud_token: str | None = None
    # The LMDB map (a sparse file: disk is used only as events are journaled) must hold the hard
    # limit below with room for LMDB's pages and the dedupe ids: twice the limit.
    journal_map_size_bytes: int = 2 * JOURNAL_HARD_LIMIT_BYTES
    max_readers: int = 126
    # How many acknowledged event ids the journal remembers, to count late re-sends as duplicates.
    journal_dedupe_window_events: int = 100_000
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # Largest GetAds/ReportEvents request a cart may send; bigger ones get RESOURCE_EXHAUSTED.
    max_request_bytes: int = 1024 * 1024
    # Several worker processes share the listening port (SO_REUSEPORT); each may spend this share
    # of a line item's budget allowance, so together they never spend more than the allowance.
    reuse_port: bool = False
    budget_share: float = 1.0
    # Serve under SCHED_BATCH (Linux): waking threads do not preempt running ones (edge_node/app/cpu_policy.py).
    batch_scheduling: bool = True
    # Nice value of gRPC's helper threads (poller, event engine) and the executor's: they wait for
    # the serving thread instead of preempting it (edge_node/app/cpu_policy.py); 0 leaves them as started.
    helper_thread_nice: int = 10
    # Request limits (their defaults are the contract's bounds, cartads/bounds.py).
    default_max_ads: int = 1
    max_ads_limit: int = bounds.MAX_ADS
    max_slots: int = bounds.MAX_SLOTS
    max_basket_lines: int = bounds.MAX_BASKET_LINES
    max_events_per_report: int = bounds.MAX_EVENTS_PER_REPORT
    max_id_chars: int = bounds.MAX_ID_CHARS
    # Frequency state is kept for this many cart sessions; the least recently used are forgotten.
    max_sessions: int = 100_000
    # Every GetAds and ReportEvents call must carry an enrolled cart's credential (edge_node/serving/
    # cart_auth.py). Off exists ONLY as the baseline of the edge benchmark's auth_throughput_ratio:
    # an edge with it off serves and journals whatever any caller claims to be. Never turn it off.
    cart_auth: bool = True
    # Verified credentials and per-cart rate buckets are kept for this many carts (least recent first out).
    cart_state_max_carts: int = 50_000
    # Journal pushback, in bytes of unsent events as journaled: above the soft limit only house ads
    # serve (no new billable work), above the hard limit ReportEvents answers RESOURCE_EXHAUSTED;
    # events are never silently dropped. Sized for days of a busy store offline (JOURNAL_HARD_LIMIT_BYTES).
    journal_soft_limit_bytes: int = JOURNAL_SOFT_LIMIT_BYTES
    journal_hard_limit_bytes: int = JOURNAL_HARD_LIMIT_BYTES
    # Group commit: at most this many events go into one durable journal transaction.
    group_commit_max_events: int = 20_000
    # An add-to-cart converts an ad seen (or clicked) at most this long before, in the same trip.
    attribution_window_s: float = 1800.0
    # Sales attribution at checkout (edge_node/events/sales.py): loyalty ids remembered (least recent
    # first out), and a loyalty id checked out on more than this many carts within this long is shared
    # and links no trips.
    sales_max_loyalty_ids: int = 100_000
    loyalty_max_carts: int = 2
    loyalty_share_window_s: float = 3600.0
    # Assets: the HTTP server carts fetch images from (None: none), the base URL that
    # GetAds answers put in image_url ("" = http://<bound host:port>, which suits loopback only;
    # set it to the address carts reach the edge at), the LMDB map of the asset environment, and
    # how long fetching one index's assets from the cloud may take before the index is NACKed.
    asset_listen_address: str | None = "127.0.0.1:0"
    asset_public_base_url: str = ""
    asset_map_size_bytes: int = GIB
    asset_fetch_timeout_s: float = 30.0

    @property
    def index_cap_bytes(self) -> int:
        """The largest serialized index this edge accepts."""
        return self.index_max_bytes or max(0, self.index_map_size_bytes // 2 - 256 * 1024)
