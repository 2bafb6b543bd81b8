"""The api_tokens table on both engines: create, find by hash, list, revoke."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cloud_core.access.api_tokens import TokenRecord, issue_token, secret_hash
from cloud_core.access.policy import Role
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage.schema import api_tokens
from cloud_core.storage.sql.database import Database
from cloud_core.storage.tokens import SqlTokens


@pytest.fixture
def tokens(database: Database) -> SqlTokens:
    """The SQL token store on each engine."""
    return SqlTokens(database)


async def test_token_is_found_by_the_hash_of_its_secret(tokens: SqlTokens) -> None:
    """A minted token is found by its secret's hash, with its role and binding."""
    record, secret = await issue_token(tokens, Role.ADVERTISER, 5, advertiser_id="acme", display_name="Acme ops")
    found = await tokens.api_token_by_hash(secret_hash(secret))
    assert found == record
    assert await tokens.api_token_by_hash(secret_hash(secret + "x")) is None


async def test_secret_is_not_stored(tokens: SqlTokens, database: Database) -> None:
    """Nothing in the table contains the secret itself."""
    _, secret = await issue_token(tokens, Role.ADMIN, 5)

    def dump(conn: Connection) -> str:
        return repr(list(conn.execute(sa.select(api_tokens))))

    assert secret not in await database.read(dump)


async def test_duplicate_token_id_is_already_exists(tokens: SqlTokens) -> None:
    """A client-given token id can be used once."""
    await tokens.create_api_token(TokenRecord("t1", Role.VIEWER, create_time_us=1), "a" * 64)
    with pytest.raises(AlreadyExistsError):
        await tokens.create_api_token(TokenRecord("t1", Role.VIEWER, create_time_us=1), "b" * 64)


async def test_revoke_keeps_the_first_time(tokens: SqlTokens) -> None:
    """Revoking twice keeps the first revocation time; an unknown id is NOT_FOUND."""
    record, _ = await issue_token(tokens, Role.EDGE, 1, store_id="s1")
    assert (await tokens.revoke_api_token(record.token_id, 10)).revoke_time_us == 10
    assert (await tokens.revoke_api_token(record.token_id, 20)).revoke_time_us == 10
    with pytest.raises(NotFoundError):
        await tokens.revoke_api_token("nope", 30)


async def test_list_pages_in_id_order(tokens: SqlTokens) -> None:
    """Listing returns a page plus one row, in id order, after the given id."""
    for token_id in ("t3", "t1", "t2"):
        await issue_token(tokens, Role.VIEWER, 1, token_id=token_id)
    page = await tokens.list_api_tokens(PageRequest(after_id="t1", limit=1))
    assert [r.token_id for r in page] == ["t2", "t3"]
