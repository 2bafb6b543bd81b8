"""This edge's own tracking token keys, on its disk (readable by its user only).

Each edge makes its key itself (32 random bytes, a 16-hex-character id) and registers it with the
cloud on its index stream; the cloud bills a token only under a key registered to the token's store
and edge. A key the cloud revoked is replaced by a new one (``rotate``); earlier keys are kept for
verifying the tokens carts still hold, never for signing.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from edge_node.index.holder import SigningKeys

FILE_NAME = "signing_keys.json"
KEY_BYTES = 32
# Keys kept for verifying after rotations: the newest few (tokens live hours, rotations are rare).
KEPT_KEYS = 4


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable and writable by this user only."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def stored_keys(data_dir: str | Path) -> list[tuple[str, bytes]]:
    """The keys ``data_dir`` holds, oldest first (the last one signs); none when it holds no keyring."""
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        return []
    doc = json.loads(path.read_text())
    return [(str(k), bytes.fromhex(v)) for k, v in doc["keys"]]


class Keyring:
    """The edge's keys, newest last; the newest signs."""

    def __init__(self, path: Path, keys: list[tuple[str, bytes]], random_bytes: Callable[[int], bytes]) -> None:
        self._path = path
        self._keys = keys
        self._random = random_bytes

    @classmethod
    def open(cls, data_dir: str | Path, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> Keyring:
        """The keyring in ``data_dir``, made with a first key when there is none."""
        path = Path(data_dir) / FILE_NAME
        keys = stored_keys(data_dir)
        ring = cls(path, keys, random_bytes)
        if not keys:
            path.parent.mkdir(parents=True, exist_ok=True)
            ring.rotate()
        return ring

    @property
    def current(self) -> SigningKeys:
        """The key to sign with and every key still verified."""
        key_id, key = self._keys[-1]
        return SigningKeys(key_id, key, MappingProxyType(dict(self._keys)))

    def rotate(self) -> SigningKeys:
        """Make a new key to sign with (after the cloud revoked the current one), and keep it on disk."""
        key = self._random(KEY_BYTES)
        key_id = self._random(8).hex()
        self._keys = [*self._keys, (key_id, key)][-KEPT_KEYS:]
        doc = {"keys": [[k, v.hex()] for k, v in self._keys]}
        _write_private(self._path, json.dumps(doc).encode())
        return self.current
