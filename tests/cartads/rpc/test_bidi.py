"""RequestStream: the requests of a bidirectional call, in order, ended by close()."""

from __future__ import annotations

from cartads.rpc.bidi import RequestStream


async def test_requests_come_out_in_order_and_close_ends_them() -> None:
    """Sent requests are yielded in order; after close() the iteration ends."""
    stream: RequestStream[int] = RequestStream()
    for n in (1, 2, 3):
        stream.send(n)
    stream.close()
    assert [n async for n in stream] == [1, 2, 3]


async def test_a_request_sent_after_close_is_dropped_and_close_is_idempotent() -> None:
    """Closing twice is harmless; what is sent after close never comes out; a second reader also ends."""
    stream: RequestStream[str] = RequestStream()
    stream.send("hello")
    stream.close()
    stream.close()
    stream.send("late")
    assert [r async for r in stream] == ["hello"]
    assert [r async for r in stream] == []
