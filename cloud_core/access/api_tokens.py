"""Bearer tokens: minting, hashing, the storage Protocol (with an in-memory fake) and a cached lookup."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from cartads.bounds import clip
from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.audit import field_changes
from cloud_core.access.policy import Principal, Role
from cloud_core.admin.pagination import PageRequest

SECRET_PREFIX = "cat_"
SECRET_BYTES = 32
# How long a looked-up token is trusted without asking the database again. A revocation takes effect
# at once on the replica that made it and within this long on the others.
DEFAULT_CACHE_TTL_S = 2.0
_CACHE_MAX_ENTRIES = 10_000

ROLE_TO_PROTO: dict[Role, admin_pb2.ApiTokenRole] = {
    Role.ADMIN: admin_pb2.API_TOKEN_ROLE_ADMIN,
    Role.ADVERTISER: admin_pb2.API_TOKEN_ROLE_ADVERTISER,
    Role.VIEWER: admin_pb2.API_TOKEN_ROLE_VIEWER,
    Role.EDGE: admin_pb2.API_TOKEN_ROLE_EDGE,
}
PROTO_TO_ROLE: dict[int, Role] = {int(v): k for k, v in ROLE_TO_PROTO.items()}


@dataclass(frozen=True)
class TokenRecord:
    """A stored token: everything but its secret, which is never stored."""

    token_id: str
    role: Role
    advertiser_id: str = ""
    store_id: str = ""
    display_name: str = ""
    create_time_us: int = 0
    # 0 while the token is valid.
    revoke_time_us: int = 0

    @property
    def revoked(self) -> bool:
        return self.revoke_time_us > 0

    def principal(self) -> Principal:
        return Principal(self.token_id, self.role, self.advertiser_id, self.store_id)

    def to_proto(self) -> admin_pb2.ApiToken:
        token = admin_pb2.ApiToken(
            token_id=self.token_id,
            role=ROLE_TO_PROTO[self.role],
            advertiser_id=self.advertiser_id,
            store_id=self.store_id,
            display_name=self.display_name,
            create_time=us_to_ts(self.create_time_us),
        )
        if self.revoked:
            token.revoke_time.CopyFrom(us_to_ts(self.revoke_time_us))
        return token


def new_secret() -> str:
    """A fresh bearer secret: 256 random bits, URL-safe, with a prefix that makes leaked ones greppable."""
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def secret_hash(secret: str) -> str:
    """What the database keeps instead of the secret.

    Plain SHA-256, not a slow password hash: the secret is 256 random bits, so neither a dictionary
    nor brute force can invert the hash, and a deliberately slow KDF (bcrypt, argon2) would only add
    milliseconds to every authenticated call. It still means a copy of the database grants nothing.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token_id() -> str:
    return f"tok-{uuid.uuid4().hex[:12]}"


class TokenStore(Protocol):
    """Tokens by id and by the hash of their secret (cloud_core/storage/tokens.py)."""

    # ``audit``: the audit entry (who, method) to write in the same transaction, its changes filled
    # in from the token (see ``token_changes``).
    async def create_api_token(
        self, record: TokenRecord, secret_sha256: str, audit: admin_pb2.AuditEntry | None = None
    ) -> None: ...
    async def api_token_by_hash(self, secret_sha256: str) -> TokenRecord | None: ...
    async def get_api_token(self, token_id: str) -> TokenRecord | None: ...
    async def list_api_tokens(self, page: PageRequest) -> list[TokenRecord]: ...
    async def revoke_api_token(
        self, token_id: str, now_us: int, audit: admin_pb2.AuditEntry | None = None
    ) -> TokenRecord: ...


def token_changes(
    entry: admin_pb2.AuditEntry, before: TokenRecord | None, after: TokenRecord, now_us: int
) -> admin_pb2.AuditEntry:
    """``entry`` completed for a token issued (``before`` None) or revoked: its time, the token and the
    fields that changed (a token record holds no secret, only its id and binding)."""
    done = admin_pb2.AuditEntry()
    done.CopyFrom(entry)
    done.time.CopyFrom(us_to_ts(now_us))
    done.resource_type, done.resource_id = "api_token", after.token_id
    old = None if before is None else before.to_proto()
    done.changes.extend(
        admin_pb2.AuditFieldChange(field=f, before=b, after=a) for f, b, a in field_changes(old, after.to_proto())
    )
    return done


class InMemoryTokenStore:
    """A TokenStore in a dict, for unit tests."""

    def __init__(self) -> None:
        self.by_id: dict[str, TokenRecord] = {}
        self.hashes: dict[str, str] = {}
        self.lookups = 0
        self.audit: list[admin_pb2.AuditEntry] = []

    async def create_api_token(
        self, record: TokenRecord, secret_sha256: str, audit: admin_pb2.AuditEntry | None = None
    ) -> None:
        if record.token_id in self.by_id:
            raise AlreadyExistsError(f"token {clip(record.token_id)!r} already exists", "token_id")
        self.by_id[record.token_id] = record
        self.hashes[secret_sha256] = record.token_id
        if audit is not None:
            self.audit.append(token_changes(audit, None, record, record.create_time_us))

    async def api_token_by_hash(self, secret_sha256: str) -> TokenRecord | None:
        self.lookups += 1
        token_id = self.hashes.get(secret_sha256)
        return None if token_id is None else self.by_id[token_id]

    async def get_api_token(self, token_id: str) -> TokenRecord | None:
        return self.by_id.get(token_id)

    async def list_api_tokens(self, page: PageRequest) -> list[TokenRecord]:
        ids = sorted(i for i in self.by_id if i > page.after_id)
        return [self.by_id[i] for i in ids[: page.limit + 1]]

    async def revoke_api_token(
        self, token_id: str, now_us: int, audit: admin_pb2.AuditEntry | None = None
    ) -> TokenRecord:
        before = record = self.by_id.get(token_id)
        if record is None:
            raise NotFoundError(f"token {clip(token_id)!r} does not exist", "token_id")
        if not record.revoked:
            record = self.by_id[token_id] = replace(record, revoke_time_us=now_us)
        if audit is not None:
            self.audit.append(token_changes(audit, before, record, now_us))
        return record


async def issue_token(
    store: TokenStore,
    role: Role,
    now_us: int,
    *,
    advertiser_id: str = "",
    store_id: str = "",
    display_name: str = "",
    token_id: str = "",
    audit: admin_pb2.AuditEntry | None = None,
) -> tuple[TokenRecord, str]:
    """Store a new token and return it with its secret (the only time the secret exists outside the caller);
    with ``audit``, its audit entry is written in the same transaction."""
    record = TokenRecord(
        token_id=token_id or new_token_id(),
        role=role,
        advertiser_id=advertiser_id,
        store_id=store_id,
        display_name=display_name,
        create_time_us=now_us,
    )
    secret = new_secret()
    await store.create_api_token(record, secret_hash(secret), audit)
    return record, secret


class TokenAuthenticator:
    """Secret → Principal, remembering answers for ``ttl_s`` so a busy caller is not one query per call."""

    def __init__(self, store: TokenStore, clock: Callable[[], float], ttl_s: float = DEFAULT_CACHE_TTL_S) -> None:
        self._store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        """The token's principal, or None when the secret is unknown or the token revoked."""
        digest = secret_hash(secret)
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        record = await self._store.api_token_by_hash(digest)
        principal = None if record is None or record.revoked else record.principal()
        if len(self._cache) >= _CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl_s, principal)
        return principal

    def forget(self, token_ids: Sequence[str]) -> None:
        """Drop cached answers for these tokens (after a revocation on this replica)."""
        doomed = {d for d, (_, p) in self._cache.items() if p is not None and p.token_id in token_ids}
        for digest in doomed:
            del self._cache[digest]
