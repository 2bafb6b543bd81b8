"""Opaque page tokens for List methods: keyset pagination on the resource id."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from cartads.rpc.errors import InvalidArgumentError
from cartads.v1 import admin_pb2
from cloud_core.admin.validation import check_page_size

DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    """Where a page starts (after this id) and how many rows it holds."""

    after_id: str
    limit: int


def encode_token(after_id: str, query_key: str) -> str:
    """A token that resumes after ``after_id`` for the same query (filters) only."""
    raw = json.dumps({"a": after_id, "q": query_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_request(page_size: int, page_token: str, query_key: str) -> PageRequest:
    """Checks page_size and page_token; raises InvalidArgumentError naming the field."""
    violations = check_page_size(page_size)
    if violations:
        raise InvalidArgumentError(violations)
    limit = page_size or DEFAULT_PAGE_SIZE
    if not page_token:
        return PageRequest(after_id="", limit=limit)
    try:
        raw = base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4))
        data = json.loads(raw)
        after_id, token_query = data["a"], data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidArgumentError([("page_token", "is not a token this server issued")]) from exc
    if not isinstance(after_id, str) or token_query != query_key:
        raise InvalidArgumentError([("page_token", "belongs to a different query")])
    return PageRequest(after_id=after_id, limit=limit)


def next_token(ids: list[str], limit: int, query_key: str) -> str:
    """The token for the page after ``ids`` (fetched with limit + 1 rows), or "" on the last page."""
    if len(ids) <= limit:
        return ""
    return encode_token(ids[limit - 1], query_key)


# Separates store and edge id in an edge page's resume key; ids never hold it (they are validated).
_EDGE_KEY_SEP = "\n"


def edge_page_key(status: admin_pb2.EdgeStatus) -> str:
    """The resume key of an edge list page ending at ``status``."""
    return f"{status.store_id}{_EDGE_KEY_SEP}{status.edge_id}"


def split_edge_page_key(after_id: str) -> tuple[str, str]:
    """The (store_id, edge_id) an edge list page resumes after."""
    store_id, _, edge_id = after_id.partition(_EDGE_KEY_SEP)
    return store_id, edge_id
