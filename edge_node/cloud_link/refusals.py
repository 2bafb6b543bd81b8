"""How the edge reports a failed call to the cloud: a refused credential is an operator's problem and
is logged at error; an absent or busy cloud is routine and logged at info. Details are clipped:
they are the cloud's words, but may echo what the edge sent."""

from __future__ import annotations

from collections.abc import Collection

import grpc
import structlog

from cartads.ops.logs import clip

# The cloud does not accept this edge's token or certificate, or not for this store: retrying is
# right (a renewed credential fixes it), but someone must be told.
CREDENTIAL_REFUSALS = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})


def log_call_failure(
    log: structlog.typing.FilteringBoundLogger,
    event: str,
    error: grpc.aio.AioRpcError,
    *,
    refusals: Collection[grpc.StatusCode] = CREDENTIAL_REFUSALS,
    **fields: object,
) -> None:
    """One line for a failed call: at error when the cloud refused it (``refusals``), else at info."""
    code = error.code()
    detail = clip(error.details() or "", 512)
    if code in refusals:
        why = "credential" if code in CREDENTIAL_REFUSALS else "request"
        log.error(f"cloud refused this edge's {why}", call=event, code=code.name, detail=detail, **fields)
    else:
        log.info(event, code=code.name, detail=detail, **fields)
