"""The edge node's own errors, beside the shared ones of ``cartads.rpc.errors`` (which map them to statuses)."""

from __future__ import annotations

from cartads.rpc.errors import FailedPreconditionError, ResourceExhaustedError, UnavailableError


class IndexRejectedError(FailedPreconditionError):
    """An index update failed verification; it is NACKed and never served."""


class StoreClosedError(UnavailableError):
    """An LMDB environment was used after it was closed."""


class JournalFullError(ResourceExhaustedError):
    """The journal holds as many unsent events as it may; the cart keeps them and retries later."""
