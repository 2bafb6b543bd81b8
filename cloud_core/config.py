"""The cloud's configuration, built once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field

from cartads.cart_limits import PerCartLimits
from cartads.ivt import IvtPolicy
from cartads.rpc.keepalive import ServerKeepalive
from cloud_core.compile.memo import MemoSettings

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CloudConfig:
    """Everything ``start_cloud`` needs; units are in the names."""

    # A SQLite file path (or sqlite:///...) or a PostgreSQL DSN (postgresql://...).
    db: str
    listen_address: str = "127.0.0.1:50051"
    # How long to wait after a change before recompiling, so a burst of admin calls costs one push.
    push_delay_s: float = 0.1
    # A whole store's index travels in one message, so the cap is well above gRPC's 4 MiB default.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    token_ttl_s: int = 7200
    # A lone auction bidder pays the reserve, so it is the floor price of an ad: $0.50 CPM by default.
    reserve_cpm_micros: int = 500_000
    # Per cart trip, compiled into every index: most ads shown and least time between ad decisions
    # (0 = no limit).
    max_ads_per_trip: int = 0
    min_ad_interval_ms: int = 0
    # Recompile connected stores this often even without a change, so budget allowances stay fresh.
    index_refresh_s: float = 60.0
    # Budget leases (cloud_core/delivery/leases.py): the window each store's allowance covers, and how long
    # after its window a lease stays valid so the next index reaches the edge in time.
    lease_period_s: int = 900
    lease_grace_s: int = 180
    # Index distribution: recent versions kept per store (in the database) to send deltas from, and
    # the snapshot chunk size (well below gRPC's 4 MiB default message limit). An edge ACKs each
    # version, so it is rarely more than one behind; a whole catalog's index is about 1 MB a version.
    index_history_versions: int = 4
    index_chunk_bytes: int = 1024 * 1024
    # What the incremental index compiler keeps of its past work (cloud_core/compile/memo.py).
    compile_memo: MemoSettings = field(default_factory=MemoSettings)
    # Compiled versions live in the database (the last index_history_versions of each store); each
    # replica keeps parsed versions, encoded snapshots and deltas within this many bytes, so its
    # memory does not grow with stores x versions.
    index_cache_bytes: int = 256 * 1024 * 1024
    # One replica compiles a store at a time, under a lease of this length (renewed while compiling;
    # a dead holder's lease is taken over when it expires). Replicas waiting for another's compile are
    # woken when it is stored (PostgreSQL NOTIFY) or read the database again every compile_wait_poll_s.
    compile_lease_s: float = 10.0
    compile_wait_poll_s: float = 0.25
    # Stores compiled per batch when many change at once: one batch's indexes are in memory together.
    compile_batch_stores: int = 50
    # Each replica records a heartbeat this often; the edges of a replica silent for replica_timeout_s
    # are marked disconnected by the others (within replica_timeout_s + replica_heartbeat_s).
    replica_heartbeat_s: float = 3.0
    replica_timeout_s: float = 15.0
    # Mutual TLS: the server's certificate and key, and the CA that signs client (edge) certificates.
    # None (all three) serves plaintext, for loopback.
    tls_cert_path: str | None = None
    tls_key_path: str | None = None
    tls_client_ca_path: str | None = None
    # The read-only operator console over HTTP (cloud_core/console/http.py), "HOST:PORT" (port 0 picks
    # one); "" serves none. Its API takes the same bearer tokens as AdminService (admin or viewer).
    console_listen_address: str = ""
    # Names this process among several cloud replicas sharing one database (edge status rows carry it).
    replica_id: str = ""
    # How often each replica reads the database's change counters (PostgreSQL also pushes changes at
    # once with LISTEN/NOTIFY; this is its safety net, and the only path between SQLite processes).
    change_poll_s: float = 0.5
    # Report exports (cloud_core/admin/exports/jobs.py) this process runs at once; more wait their turn.
    max_running_exports: int = 2
    # Size of each stored CSV chunk of an export, one download message each (under the message limit).
    export_chunk_bytes: int = 256 * 1024
    # What one cart may ask of its store's edge (calls and events per second, its share of the
    # journal), compiled into every index.
    cart_limits: PerCartLimits = field(default_factory=PerCartLimits)
    # The invalid traffic rules' thresholds (cartads/ivt.py), compiled into every index, so the edge
    # judges with the numbers the cloud re-checks with.
    ivt_policy: IvtPolicy = field(default_factory=IvtPolicy)
    # Tokens signed with a store's shared key (no signing_key_id) are billed until this time, in
    # microseconds since the epoch, and dead-lettered after it. None: token_ttl_s after the database
    # was migrated to per-edge keys, so tokens issued before the upgrade still bill.
    legacy_store_key_tokens_until_us: int | None = None
    # How long the record of each index version sent to a store (and the terms it allowed) is kept:
    # an event uploaded later than this under such a version is not billed.
    terms_retention_days: int = 35
    # HTTP/2 pings to every edge and the edge pings accepted (cartads/rpc/keepalive.py): a silently
    # partitioned edge's stream ends, logged and marked disconnected, within a few seconds.
    keepalive: ServerKeepalive = field(default_factory=ServerKeepalive)
