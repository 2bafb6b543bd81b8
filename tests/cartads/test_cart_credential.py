"""The cart credential: made by the cloud, parsed and checked against a digest by the edge."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartads import cart_credential as cc

SECRET = bytes(range(32))
SECRET_TEXT = base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()
GOOD = f"v1:s1:0123456789abcdef01234567:{SECRET_TEXT}"


def _counting_bytes() -> Callable[[int], bytes]:
    """A deterministic random source: each call gives the next bytes of a counter."""
    counter = itertools.count()
    return lambda n: bytes(next(counter) % 256 for _ in range(n))


_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)


def test_new_credential_parses_back_to_its_parts() -> None:
    """The string a new credential is shown as parses to the very parts the cloud keeps."""
    text, parts = cc.new_credential("store-7", _counting_bytes())
    assert cc.parse(text) == parts
    assert text == f"v1:store-7:{parts.credential_id}:{base64.urlsafe_b64encode(parts.secret).rstrip(b'=').decode()}"


def test_new_credential_takes_id_and_secret_from_the_random_source() -> None:
    """The credential id (12 bytes, hex) and the 32-byte secret both come from the injected source."""
    _, parts = cc.new_credential("s1", _counting_bytes())
    assert parts.credential_id == bytes(range(12)).hex()
    assert parts.secret == bytes(range(12, 44))


@given(store_id=_ids, credential_id=_ids, secret=st.binary(min_size=32, max_size=32))
def test_any_valid_credential_round_trips(store_id: str, credential_id: str, secret: bytes) -> None:
    """Every id pair and secret formats to a string of at most the limit that parses back the same."""
    parts = cc.CartCredential(store_id, credential_id, secret)
    text = cc.format_credential(parts)
    assert len(text) <= cc.MAX_CREDENTIAL_CHARS
    assert cc.parse(text) == parts


def test_store_id_that_cannot_be_split_is_refused_at_creation() -> None:
    """A store id with ':' would make an unparseable credential: new_credential refuses it."""
    with pytest.raises(ValueError, match="store_id"):
        cc.new_credential("a:b", _counting_bytes())


def test_a_random_source_giving_short_secrets_is_refused() -> None:
    """A source that returns fewer bytes than asked cannot make a weak credential."""
    with pytest.raises(ValueError, match="32 bytes"):
        cc.new_credential("s1", lambda n: b"x" * min(n, 16))


MALFORMED = {
    "empty": "",
    "10 KB": "v1:" + "a" * 10_000,
    "one over the limit": GOOD + ":" + "a" * (cc.MAX_CREDENTIAL_CHARS - len(GOOD)),
    "wrong version": GOOD.replace("v1:", "v2:", 1),
    "no version": GOOD[3:],
    "colon in a part": GOOD.replace("s1", "s1:x", 1),
    "extra part": GOOD + ":more",
    "missing part": f"v1:s1:{SECRET_TEXT}",
    "empty store": GOOD.replace("s1", "", 1),
    "store starting with a dot": GOOD.replace("s1", ".s1", 1),
    "bad base64": GOOD[:-3] + "!!!",
    "padded secret": GOOD[:-1] + "=",
    "31-byte secret": GOOD.rsplit(":", 1)[0] + ":" + base64.urlsafe_b64encode(SECRET[:31]).rstrip(b"=").decode(),
    "33-byte secret": GOOD.rsplit(":", 1)[0] + ":" + base64.urlsafe_b64encode(SECRET + b"x").rstrip(b"=").decode(),
    "standard base64 alphabet": GOOD[:-2] + "+/",
    "non-ascii": GOOD.replace("s1", "sé", 1),
    "surrounding space": f" {GOOD} ",
}


@pytest.mark.parametrize("text", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_credentials_raise_malformed_credential_error(text: str) -> None:
    """Each malformed form raises MalformedCredentialError, never another exception."""
    with pytest.raises(cc.MalformedCredentialError):
        cc.parse(text)


def test_non_canonical_secret_spelling_is_refused() -> None:
    """A secret's last character with its spare bits set decodes to the same bytes, and is refused."""
    last = SECRET_TEXT[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = alphabet[alphabet.index(last) + 1]  # same high bits, a spare bit set
    assert base64.urlsafe_b64decode(SECRET_TEXT[:-1] + other + "=") == SECRET
    with pytest.raises(cc.MalformedCredentialError, match="canonical"):
        cc.parse(GOOD[:-1] + other)


def test_an_oversized_value_is_refused_for_its_length_first() -> None:
    """A value over the limit is refused for its length, whatever it contains."""
    with pytest.raises(cc.MalformedCredentialError, match=f"at most {cc.MAX_CREDENTIAL_CHARS}"):
        cc.parse(GOOD + "x" * cc.MAX_CREDENTIAL_CHARS)


# Near misses of a good credential (one character changed) besides arbitrary text.
_near_misses = st.builds(
    lambda i, ch: GOOD[:i] + ch + GOOD[i + 1 :], st.integers(min_value=0, max_value=len(GOOD) - 1), st.characters()
)


@given(st.one_of(st.text(max_size=300), _near_misses))
def test_parse_is_total_and_accepts_only_one_spelling(text: str) -> None:
    """Any text raises MalformedCredentialError or parses to parts that format back to exactly that text."""
    try:
        parts = cc.parse(text)
    except cc.MalformedCredentialError:
        return
    assert cc.format_credential(parts) == text


def test_errors_and_repr_never_show_the_secret() -> None:
    """Neither an error message nor a credential's repr carries the secret."""
    near_miss = GOOD + "x"
    with pytest.raises(cc.MalformedCredentialError) as err:
        cc.parse(near_miss)
    assert SECRET_TEXT not in str(err.value)
    shown = repr(cc.parse(GOOD))
    assert SECRET_TEXT not in shown
    assert repr(SECRET) not in shown


def test_digest_is_sha256_of_the_secret() -> None:
    """The stored digest is the SHA-256 of the raw secret bytes."""
    assert cc.secret_digest(SECRET) == hashlib.sha256(SECRET).digest()


def test_the_right_secret_matches_its_digest() -> None:
    """A secret matches the digest made from it."""
    assert cc.matches(SECRET, cc.secret_digest(SECRET))


@pytest.mark.parametrize(
    "digest",
    [hashlib.sha256(b"other").digest(), b"", hashlib.sha256(SECRET).digest()[:31]],
    ids=["another secret's", "empty", "truncated"],
)
def test_other_digests_do_not_match(digest: bytes) -> None:
    """A secret does not match another secret's digest, an empty one or a truncated one."""
    assert not cc.matches(SECRET, digest)


def test_matching_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest comparison is hmac.compare_digest's, so its time does not leak where bytes differ."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    digest = cc.secret_digest(SECRET)
    assert cc.matches(SECRET, digest)
    assert calls == [(digest, digest)]
