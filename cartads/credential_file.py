"""The cart credential file: what ``cartads-admin carts enroll --out FILE`` writes and a cart reads.

One cart's file is a JSON object, several carts' (``enroll --count N``) a JSON list of them::

    {"store_id": "s1", "cart_id": "cart-001", "credential": "v1:s1:<credential_id>:<secret>"}

The file holds secrets: it is created with mode 0600 and never over an existing file (a credential
is shown only once, so overwriting one would lose it). Reading checks every entry: each credential
parses (``cartads.cart_credential``) and is of the store the entry names. No error message repeats
a credential.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cartads import cart_credential

FILE_MODE = 0o600
# A few thousand carts a file at most: a larger file is not a credential file.
MAX_FILE_BYTES = 4 * 1024 * 1024
_KEYS = ("store_id", "cart_id", "credential")


class CredentialFileError(ValueError):
    """The file is not a cart credential file (its message never repeats a credential)."""


@dataclass(frozen=True, slots=True)
class CartCredentialEntry:
    """One enrolled cart's credential, as the file holds it."""

    store_id: str
    cart_id: str
    credential: str

    def __repr__(self) -> str:
        return f"CartCredentialEntry(store_id={self.store_id!r}, cart_id={self.cart_id!r}, credential=<hidden>)"


def dumps(entries: Sequence[CartCredentialEntry], *, as_list: bool) -> str:
    """The file's text: one object, or a list of them when ``as_list`` (``enroll --count``)."""
    if not as_list and len(entries) != 1:
        raise ValueError("a single-cart credential file holds exactly one entry")
    objects = [{key: getattr(entry, key) for key in _KEYS} for entry in entries]
    return json.dumps(objects if as_list else objects[0], indent=2) + "\n"


def loads(text: str) -> list[CartCredentialEntry]:
    """The entries of a file's text (one object, or a list); CredentialFileError saying what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CredentialFileError(f"not JSON (line {getattr(exc, 'lineno', '?')})") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise CredentialFileError("holds no cart credential")
    return [_entry(item, i if isinstance(data, list) else None) for i, item in enumerate(items)]


def _entry(item: Any, index: int | None) -> CartCredentialEntry:
    where = "" if index is None else f"entry {index}: "
    if not isinstance(item, dict):
        raise CredentialFileError(f"{where}must be an object with {', '.join(_KEYS)}")
    for key in _KEYS:
        if not isinstance(item.get(key), str) or not item[key]:
            raise CredentialFileError(f"{where}{key} must be a non-empty string")
    try:
        parsed = cart_credential.parse(item["credential"])
    except cart_credential.MalformedCredentialError as exc:
        raise CredentialFileError(f"{where}credential: {exc}") from None
    if parsed.store_id != item["store_id"]:
        raise CredentialFileError(f"{where}the credential is for another store than store_id {item['store_id']!r}")
    return CartCredentialEntry(store_id=item["store_id"], cart_id=item["cart_id"], credential=item["credential"])


def create(path: str | Path) -> IO[str]:
    """A new file at ``path`` with mode 0600, open for writing; FileExistsError when there is one.

    Opened before any cart is enrolled, so that a path that cannot be written fails before a
    credential exists that would then be lost.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        # The umask may only have taken bits away; the mode is exactly 0600 whatever it is.
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write(file: IO[str], entries: Sequence[CartCredentialEntry], *, as_list: bool) -> None:
    """Write the entries to a file made by ``create`` and flush them to disk."""
    file.write(dumps(entries, as_list=as_list))
    file.flush()
    os.fsync(file.fileno())


def read(path: str | Path) -> list[CartCredentialEntry]:
    """The entries of the credential file at ``path``; CredentialFileError (or OSError) when unusable."""
    with open(path, encoding="utf-8") as file:
        text = file.read(MAX_FILE_BYTES + 1)
    if len(text) > MAX_FILE_BYTES:
        raise CredentialFileError(f"larger than {MAX_FILE_BYTES} bytes")
    return loads(text)
