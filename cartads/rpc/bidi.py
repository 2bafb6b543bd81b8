"""The request side of a client's bidirectional stream, owned by the caller rather than by grpc.

``call.write()`` on a channel with interceptors (the bearer token is one) makes grpc.aio feed the
call from an internal async generator, consumed by a task (``_consume_request_iterator``) that
only ``cancel()`` of a call still running stops. A call that ends on its own (the peer's status,
a keepalive timeout) leaves that task waiting forever on the generator: at garbage collection
asyncio reports "Task was destroyed but it is pending" and "aclose(): asynchronous generator is
already running", once per ended stream. Handing grpc this iterator instead, and closing it
whenever the call ends, lets the consuming task finish with the call.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class _End:
    """Marks the end of the requests in the queue."""


_END = _End()


class RequestStream(Generic[T]):
    """An async iterator of requests for ``stub.Method(stream)``: ``send`` queues one, ``close`` ends it.

    A plain iterator class, not an async generator: nothing is left for a finalizer to close.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[T | _End] = asyncio.Queue()
        self._closed = False

    def send(self, request: T) -> None:
        """Queue ``request`` for the call; grpc sends it in order. Ignored once closed."""
        if not self._closed:
            self._queue.put_nowait(request)

    def close(self) -> None:
        """No more requests: the call half-closes if it is still running, and grpc's consumer ends.
        Idempotent; call it whenever the call ends, however it ends."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(_END)

    def __aiter__(self) -> RequestStream[T]:
        return self

    async def __anext__(self) -> T:
        item = await self._queue.get()
        if isinstance(item, _End):
            # Later calls end too (a second consumer, or one that asks again).
            self._queue.put_nowait(item)
            raise StopAsyncIteration
        return item
