"""Mutual TLS between edge and cloud: credentials from PEM files, and the store an edge certificate binds.

An edge certificate names its store (and edge) in a URI subject alternative name,
``spiffe://cartads/store/<store_id>/edge/<edge_id>`` (the ``/edge/...`` part is optional), so the
cloud can refuse a subscription or an upload for any other store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

URI_PREFIX = "spiffe://cartads/store/"


@dataclass(frozen=True)
class TlsFiles:
    """PEM file paths: our certificate chain and key, and the CA that signs the other side."""

    cert_path: str
    key_path: str
    ca_path: str

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(certificate chain, private key, CA certificates) as bytes."""
        return Path(self.cert_path).read_bytes(), Path(self.key_path).read_bytes(), Path(self.ca_path).read_bytes()


def tls_files(cert: str | None, key: str | None, ca: str | None, ca_flag: str) -> TlsFiles | None:
    """TlsFiles when all three are given, None when none is; raises ValueError naming what is missing."""
    given = {"--tls-cert": cert, "--tls-key": key, ca_flag: ca}
    if not any(given.values()):
        return None
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ValueError(f"TLS needs {', '.join(given)} together; missing {', '.join(missing)}")
    return TlsFiles(str(cert), str(key), str(ca))


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """TLS that requires a client certificate signed by ``files.ca_path``."""
    cert, key, ca = files.read()
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)


def channel_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    """TLS that presents our certificate and trusts servers signed by ``files.ca_path``."""
    cert, key, ca = files.read()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


def store_uri(store_id: str, edge_id: str = "") -> str:
    """The SAN URI that binds a certificate to ``store_id`` (and ``edge_id``)."""
    return f"{URI_PREFIX}{store_id}/edge/{edge_id}" if edge_id else f"{URI_PREFIX}{store_id}"


def bound_stores(sans: Iterable[bytes | str]) -> frozenset[str]:
    """The store ids named by CartAds URIs among a certificate's subject alternative names."""
    stores = set()
    for raw in sans:
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        if text.startswith(URI_PREFIX):
            store_id = text[len(URI_PREFIX) :].split("/", 1)[0]
            if store_id:
                stores.add(store_id)
    return frozenset(stores)


@dataclass(frozen=True)
class PeerIdentity:
    """Who is calling: over TLS, the stores its client certificate binds; in plaintext, nobody known."""

    tls: bool
    stores: frozenset[str] = frozenset()

    def may_act_for(self, store_id: str) -> bool:
        """Plaintext (loopback, no TLS configured) trusts the caller; TLS requires the certificate's store."""
        return not self.tls or store_id in self.stores


def peer_identity(auth_context: Mapping[str, Iterable[bytes]]) -> PeerIdentity:
    """The identity grpc reports for a call (``context.auth_context()``)."""
    security = b"".join(auth_context.get("transport_security_type", ()))
    if security != b"ssl":
        return PeerIdentity(tls=False)
    return PeerIdentity(tls=True, stores=bound_stores(auth_context.get("x509_subject_alternative_name", ())))
