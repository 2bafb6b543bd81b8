"""What every part of AdminService does with a request: raise its violations, choose the new resource's
id, apply an update's field mask, and find the resource a request names (or answer NOT_FOUND); and
the answer of a method the contract has and this cloud does not serve yet."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from cartads.bounds import clip
from cartads.rpc.errors import CartAdsError, InvalidArgumentError, NotFoundError
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v

M = TypeVar("M", bound=Message)
T = TypeVar("T")


def new_id(prefix: str) -> str:
    """A server-made id, e.g. "cmp-3f2a9c1b7d4e"."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def raise_if(violations: Sequence[v.Violation]) -> None:
    """INVALID_ARGUMENT carrying every violation, when there is any."""
    if violations:
        raise InvalidArgumentError(violations)


def choose_id(request_id: str, body_id: str, field: str, prefix: str) -> str:
    """The id the caller gave (in the request or the body), checked; else a new one.

    An advertiser token may not choose: "already exists" would tell it that another advertiser
    holds that id, so ids of its resources are always made here. Admin tokens may.
    """
    given = request_id or body_id
    if not given:
        return new_id(prefix)
    if scoped_advertiser():
        raise_if([(field, f"ids are made by the server for advertiser tokens; leave {field} empty")])
    raise_if(v.check_id(given, field))
    return given


def merge(existing: M, patch: M, mask: FieldMask, resource: str) -> M:
    """``existing`` with the masked fields taken from ``patch`` (empty mask: every settable field)."""
    raise_if(v.check_update_mask(list(mask.paths), resource))
    merged = type(existing)()
    merged.CopyFrom(existing)
    paths = FieldMask(paths=v.effective_paths(list(mask.paths), resource))
    paths.MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged


async def existing(kind: str, resource_id: str, field: str, get: Callable[[str], Awaitable[T | None]]) -> T:
    """The ``kind`` named by ``resource_id`` (read with ``get``); INVALID_ARGUMENT or NOT_FOUND on ``field``."""
    raise_if(v.check_required_id(resource_id, field))
    found = await get(resource_id)
    if found is None:
        raise NotFoundError(f"{kind} {clip(resource_id)!r} does not exist", field)
    return found


class NotServedYetError(CartAdsError):
    """A method of the contract that this cloud does not serve yet."""

    code = grpc.StatusCode.UNIMPLEMENTED

    def __init__(self, method: str) -> None:
        # Said plainly, so a caller knows the server is older than its contract, not that it erred.
        super().__init__(f"{method} is not served by this version of the cloud")
