"""cartads.rpc.bearer: every kind of call on its channels carries ``authorization: Bearer <token>``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from cartads.rpc.bearer import aio_channel, read_token, sync_channel
from edge_node.cloud_link.channel import open_cloud_channel
from tests.edge_node.helpers import edge_config

Seen = list[str]


def _auth(context: Any) -> str:
    return str(dict(context.invocation_metadata() or ()).get("authorization", ""))


async def _echo_server(seen: Seen) -> tuple[grpc.aio.Server, int]:
    """A raw-bytes server with one method of each kind that records each call's authorization header."""

    async def unary_unary(request: bytes, context: Any) -> bytes:
        seen.append(_auth(context))
        return request

    async def unary_stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
        seen.append(_auth(context))
        yield request

    async def stream_unary(requests: AsyncIterator[bytes], context: Any) -> bytes:
        seen.append(_auth(context))
        return b"".join([r async for r in requests])

    async def stream_stream(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
        seen.append(_auth(context))
        async for r in requests:
            yield r

    handlers = {
        "UU": grpc.unary_unary_rpc_method_handler(unary_unary),
        "US": grpc.unary_stream_rpc_method_handler(unary_stream),
        "SU": grpc.stream_unary_rpc_method_handler(stream_unary),
        "SS": grpc.stream_stream_rpc_method_handler(stream_stream),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _call_all(channel: grpc.aio.Channel) -> None:
    await channel.unary_unary("/t.Echo/UU", None, None)(b"x")
    async for _ in channel.unary_stream("/t.Echo/US", None, None)(b"x"):
        pass
    await channel.stream_unary("/t.Echo/SU", None, None)(iter([b"x"]))
    async for _ in channel.stream_stream("/t.Echo/SS", None, None)(iter([b"x"])):
        pass


async def test_aio_channel_sends_the_token_on_every_kind_of_call() -> None:
    """Unary and streaming calls alike carry the bearer header; no token sends none."""
    seen: Seen = []
    server, port = await _echo_server(seen)
    try:
        async with aio_channel(f"127.0.0.1:{port}", "tok") as channel:
            await _call_all(channel)
        async with aio_channel(f"127.0.0.1:{port}") as channel:
            await channel.unary_unary("/t.Echo/UU", None, None)(b"x")
    finally:
        await server.stop(None)
    assert seen == ["Bearer tok"] * 4 + [""]


async def test_sync_channel_sends_the_token() -> None:
    """The blocking channel (cartads-admin) sends it on unary and client-streaming calls."""
    seen: Seen = []
    server, port = await _echo_server(seen)

    def calls() -> None:
        with sync_channel(f"127.0.0.1:{port}", "tok") as channel:
            channel.unary_unary("/t.Echo/UU", None, None)(b"x")
            channel.stream_unary("/t.Echo/SU", None, None)(iter([b"x"]))

    try:
        await asyncio.to_thread(calls)
    finally:
        await server.stop(None)
    assert seen == ["Bearer tok"] * 2


async def test_edge_cloud_channel_carries_the_edge_token(tmp_path: Path) -> None:
    """The edge's channel to the cloud sends EdgeConfig.cloud_token."""
    seen: Seen = []
    server, port = await _echo_server(seen)
    config = edge_config(tmp_path, port, cloud_token="edge-tok")
    try:
        async with open_cloud_channel(config) as channel:
            await _call_all(channel)
    finally:
        await server.stop(None)
    assert seen == ["Bearer edge-tok"] * 4


def test_read_token_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag wins, then the file's first line, then CARTADS_TOKEN; an empty file is an error."""
    monkeypatch.delenv("CARTADS_TOKEN", raising=False)
    (tmp_path / "t").write_text("from-file\nignored\n")
    (tmp_path / "empty").write_text("\n")
    assert read_token(None, None) is None
    monkeypatch.setenv("CARTADS_TOKEN", "from-env")
    assert read_token(None, None) == "from-env"
    assert read_token(None, str(tmp_path / "t")) == "from-file"
    assert read_token("flag", str(tmp_path / "t")) == "flag"
    with pytest.raises(ValueError, match="empty"):
        read_token(None, str(tmp_path / "empty"))
