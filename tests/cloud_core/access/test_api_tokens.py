"""Token minting and the cached secret → principal lookup, over the in-memory store."""

from __future__ import annotations

from cloud_core.access.api_tokens import InMemoryTokenStore, TokenAuthenticator, issue_token, new_secret, secret_hash
from cloud_core.access.policy import Principal, Role


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_secrets_are_random_and_hashed() -> None:
    """Two secrets differ; the hash is hex SHA-256 and never the secret."""
    a, b = new_secret(), new_secret()
    assert a != b
    assert a.startswith("cat_")
    assert len(a) > 40
    assert len(secret_hash(a)) == 64
    assert a not in secret_hash(a)


async def test_valid_secret_gives_its_principal() -> None:
    """A minted secret authenticates as its role and binding; an unknown one as nobody."""
    store = InMemoryTokenStore()
    record, secret = await issue_token(store, Role.EDGE, 1, store_id="s1")
    auth = TokenAuthenticator(store, Clock())
    assert await auth.authenticate(secret) == Principal(record.token_id, Role.EDGE, store_id="s1")
    assert await auth.authenticate("cat_nope") is None


async def test_answers_are_cached_for_the_ttl() -> None:
    """A second lookup within the TTL does not query the store; after it, it does."""
    store = InMemoryTokenStore()
    _, secret = await issue_token(store, Role.ADMIN, 1)
    clock = Clock()
    auth = TokenAuthenticator(store, clock, ttl_s=2.0)
    await auth.authenticate(secret)
    await auth.authenticate(secret)
    assert store.lookups == 1
    clock.now_s += 2.5
    await auth.authenticate(secret)
    assert store.lookups == 2


async def test_revoked_token_is_refused_once_forgotten() -> None:
    """Revocation takes effect at once when the cache is told, without waiting for the TTL."""
    store = InMemoryTokenStore()
    record, secret = await issue_token(store, Role.VIEWER, 1)
    auth = TokenAuthenticator(store, Clock(), ttl_s=60.0)
    assert await auth.authenticate(secret) == Principal(record.token_id, Role.VIEWER)
    await store.revoke_api_token(record.token_id, 5)
    auth.forget([record.token_id])
    assert await auth.authenticate(secret) is None
