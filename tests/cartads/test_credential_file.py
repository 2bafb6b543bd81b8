"""The cart credential file: one format written by the admin CLI and read by carts, secret-safe."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

import pytest

from cartads import cart_credential, credential_file
from cartads.credential_file import CartCredentialEntry, CredentialFileError


def entry(store_id: str = "s1", cart_id: str = "cart-000") -> CartCredentialEntry:
    text, _ = cart_credential.new_credential(store_id, secrets.token_bytes)
    return CartCredentialEntry(store_id, cart_id, text)


def test_one_cart_round_trips_as_an_object() -> None:
    """A single cart's file is one JSON object that reads back as that cart."""
    one = entry()
    text = credential_file.dumps([one], as_list=False)
    assert isinstance(json.loads(text), dict)
    assert credential_file.loads(text) == [one]


def test_several_carts_round_trip_as_a_list_in_order() -> None:
    """Several carts' file is a JSON list read back in the same order."""
    many = [entry(cart_id=f"cart-{n:03d}") for n in range(3)]
    text = credential_file.dumps(many, as_list=True)
    assert isinstance(json.loads(text), list)
    assert credential_file.loads(text) == many


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "not JSON"),
        ("[]", "no cart credential"),
        ('"v1:s1:x:y"', "must be an object"),
        ('{"store_id": "s1", "cart_id": "c"}', "credential must be a non-empty string"),
        ('{"store_id": "s1", "cart_id": 7, "credential": "x"}', "cart_id must be a non-empty string"),
        ('[{"store_id": "s1", "cart_id": "c", "credential": "v2:s1:abc:def"}]', "entry 0: credential"),
    ],
    ids=["not-json", "empty-list", "not-object", "no-credential", "cart-id-not-text", "bad-credential"],
)
def test_malformed_files_are_refused_saying_why(text: str, why: str) -> None:
    """Anything but the format is a CredentialFileError naming what is wrong."""
    with pytest.raises(CredentialFileError, match=why):
        credential_file.loads(text)


def test_a_credential_of_another_store_is_refused_without_repeating_it() -> None:
    """An entry whose credential is another store's is refused, and the error never holds the secret."""
    stolen = entry(store_id="s2")
    text = json.dumps({"store_id": "s1", "cart_id": "cart-000", "credential": stolen.credential})
    with pytest.raises(CredentialFileError) as err:
        credential_file.loads(text)
    assert "another store" in str(err.value)
    assert stolen.credential.rsplit(":", 1)[1] not in str(err.value)


def test_a_malformed_credential_is_not_repeated_in_the_error() -> None:
    """A credential that does not parse is refused without echoing its text."""
    secretish = "v1:s1:abc:" + "Q" * 50
    with pytest.raises(CredentialFileError) as err:
        credential_file.loads(json.dumps({"store_id": "s1", "cart_id": "c", "credential": secretish}))
    assert "Q" * 20 not in str(err.value)


def test_the_entry_repr_hides_the_credential() -> None:
    """An entry in a log line or traceback shows its store and cart, never its credential."""
    one = entry()
    assert one.credential not in repr(one)
    assert "cart-000" in repr(one)


def test_a_created_file_is_mode_0600_whatever_the_umask(tmp_path: Path) -> None:
    """The file is readable and writable by its owner only, even under a permissive umask."""
    old = os.umask(0)
    try:
        with credential_file.create(tmp_path / "carts.json") as file:
            credential_file.write(file, [entry()], as_list=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "carts.json").stat().st_mode) == 0o600


def test_create_never_overwrites_a_file(tmp_path: Path) -> None:
    """An existing file (maybe the only copy of credentials) is left as it was: FileExistsError."""
    path = tmp_path / "carts.json"
    path.write_text("precious")
    with pytest.raises(FileExistsError):
        credential_file.create(path)
    assert path.read_text() == "precious"


def test_written_file_reads_back(tmp_path: Path) -> None:
    """What write puts in a created file, read gives back."""
    many = [entry(cart_id=f"cart-{n:03d}") for n in range(2)]
    with credential_file.create(tmp_path / "carts.json") as file:
        credential_file.write(file, many, as_list=True)
    assert credential_file.read(tmp_path / "carts.json") == many


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    """A file larger than any fleet's credentials is refused before it is parsed."""
    path = tmp_path / "huge.json"
    path.write_text(" " * (credential_file.MAX_FILE_BYTES + 1))
    with pytest.raises(CredentialFileError, match="larger than"):
        credential_file.read(path)
