"""The edge's own tracking token keys on its disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from edge_node.sync.signing_keys import FILE_NAME, KEPT_KEYS, Keyring


def test_first_start_makes_a_private_key(tmp_path: Path) -> None:
    """A new edge makes a 32-byte key with a 16-hex id, in a file only its user may read."""
    keys = Keyring.open(tmp_path).current
    assert len(keys.key) == 32
    assert len(keys.key_id) == 16
    int(keys.key_id, 16)
    assert stat.S_IMODE(os.stat(tmp_path / FILE_NAME).st_mode) == 0o600


def test_the_key_survives_a_restart(tmp_path: Path) -> None:
    """Opening the keyring again signs with the same key (tokens carts hold stay verifiable)."""
    assert Keyring.open(tmp_path).current == Keyring.open(tmp_path).current


def test_rotation_signs_with_a_new_key_and_still_verifies_old_ones(tmp_path: Path) -> None:
    """After a rotation the newest key signs; a few older ones are kept for verifying, never more."""
    ring = Keyring.open(tmp_path)
    first = ring.current
    second = ring.rotate()
    assert second.key_id != first.key_id
    assert set(second.verify) == {first.key_id, second.key_id}
    for _ in range(KEPT_KEYS + 2):
        ring.rotate()
    assert len(Keyring.open(tmp_path).current.verify) == KEPT_KEYS
