"""The cart credential format: ``v1:<store_id>:<credential_id>:<secret>``. Pure.

An operator enrols a cart (``cartads-admin carts enroll``); the cloud makes its credential with
``new_credential`` and keeps only ``secret_digest(secret)``, which the index carries to the store's
edge. The cart sends the whole string with every call; the edge ``parse``s it and checks the secret
against the digest with ``matches``. A stolen index or edge disk therefore yields digests, never a
credential.

- ``store_id`` and ``credential_id`` are ids (1-64 letters, digits, '.', '_' or '-', starting with a
  letter or digit), so ':' never occurs inside them and the four parts split unambiguously.
- ``secret`` is 32 random bytes in unpadded base64url: exactly 43 characters, in its one canonical
  spelling, so each credential has one string (the edge caches verified credentials by string).
- Secrets are 256 random bits, so a plain SHA-256 is enough: there is nothing to guess that a slow
  password hash would protect.

Error messages never repeat the credential: it is a secret, and error texts reach logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

CREDENTIAL_VERSION = "v1"
MAX_CREDENTIAL_CHARS = 200
SECRET_BYTES = 32
CREDENTIAL_ID_BYTES = 12

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_ID_RE = re.compile(_ID)
_SECRET_CHARS = -(-SECRET_BYTES * 4 // 3)  # unpadded base64 of 32 bytes: 43 characters
_CREDENTIAL_RE = re.compile(
    rf"{CREDENTIAL_VERSION}:(?P<store>{_ID}):(?P<cred>{_ID}):(?P<secret>[A-Za-z0-9_-]{{{_SECRET_CHARS}}})"
)
FORMAT = f"{CREDENTIAL_VERSION}:<store_id>:<credential_id>:<secret>"


class MalformedCredentialError(ValueError):
    """The text is not a cart credential of this format (the message never repeats the text)."""


@dataclass(frozen=True, slots=True)
class CartCredential:
    """A parsed credential; ``secret`` is the raw 32 bytes."""

    store_id: str
    credential_id: str
    secret: bytes

    def __repr__(self) -> str:
        # A credential in a traceback or a log line must not carry its secret.
        return f"CartCredential(store_id={self.store_id!r}, credential_id={self.credential_id!r}, secret=<hidden>)"


def _encode_secret(secret: bytes) -> str:
    return base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii")


def format_credential(credential: CartCredential) -> str:
    """The string a cart sends for ``credential``."""
    if not _ID_RE.fullmatch(credential.store_id) or not _ID_RE.fullmatch(credential.credential_id):
        raise ValueError("store_id and credential_id must be ids (letters, digits, '.', '_', '-'; at most 64)")
    if len(credential.secret) != SECRET_BYTES:
        raise ValueError(f"a credential's secret is {SECRET_BYTES} bytes")
    secret = _encode_secret(credential.secret)
    return f"{CREDENTIAL_VERSION}:{credential.store_id}:{credential.credential_id}:{secret}"


def new_credential(store_id: str, token_bytes: Callable[[int], bytes]) -> tuple[str, CartCredential]:
    """A fresh credential for a cart of ``store_id``, as (the string shown once, its parts).

    ``token_bytes`` is the random source (``secrets.token_bytes`` in the cloud; injected so that
    this module does no I/O and tests can fix it).
    """
    credential_id = token_bytes(CREDENTIAL_ID_BYTES).hex()
    credential = CartCredential(store_id=store_id, credential_id=credential_id, secret=token_bytes(SECRET_BYTES))
    return format_credential(credential), credential


def parse(text: str) -> CartCredential:
    """The parts of a credential string; MalformedCredentialError for anything else.

    The length is checked before anything else, so an oversized value costs one ``len``.
    """
    if len(text) > MAX_CREDENTIAL_CHARS:
        raise MalformedCredentialError(f"a cart credential is at most {MAX_CREDENTIAL_CHARS} characters")
    if not text:
        raise MalformedCredentialError("no cart credential")
    match = _CREDENTIAL_RE.fullmatch(text)
    if match is None:
        if not text.startswith(f"{CREDENTIAL_VERSION}:"):
            raise MalformedCredentialError(f"not a cart credential of version {CREDENTIAL_VERSION} ({FORMAT})")
        raise MalformedCredentialError(f"a cart credential is {FORMAT}, its secret 43 base64url characters")
    encoded = match["secret"]
    try:
        secret = base64.urlsafe_b64decode(encoded + "=")
    except (binascii.Error, ValueError) as exc:  # unreachable for 43 base64url characters; kept total
        raise MalformedCredentialError("the cart credential's secret is not base64url") from exc
    # 43 characters carry 258 bits: the last character's 2 spare bits must be 0 (one spelling only).
    if len(secret) != SECRET_BYTES or _encode_secret(secret) != encoded:
        raise MalformedCredentialError("the cart credential's secret is not 32 bytes in canonical base64url")
    return CartCredential(store_id=match["store"], credential_id=match["cred"], secret=secret)


def secret_digest(secret: bytes) -> bytes:
    """SHA-256 of a secret: what the cloud stores and the index carries instead of the secret."""
    return hashlib.sha256(secret).digest()


def matches(secret: bytes, digest: bytes) -> bool:
    """Whether ``secret`` is the one ``digest`` was made from, compared in constant time."""
    return hmac.compare_digest(secret_digest(secret), digest)
