"""cartads-sim keeps what an edge outage left unreported, as the real cart does, and sends it when the edge is back.

Each test replays simulated trips through the CLI against a real grpc.aio AdService on loopback, with
each cart's outbox in real SQLite files under ``--state-dir``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from cart_client.app.outbox import SqliteOutbox
from cart_client.sim.cli import main
from cart_client.sim.replay import outbox_dir
from cartads.rpc.runtime import server_options
from cartads.v1 import ad_service_pb2, ad_service_pb2_grpc, common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import FakeAdServicer, fake_edge

TRIPS = 3
STORE = "store-1"


def replay_args(trips: Path, address: str, state: Path, *, drain_s: float) -> list[str]:
    # One cart, so every trip's events share one outbox; dwell 0: the fake edge judges no traffic.
    return [
        "--replay", str(trips), "--edge", address, "--store", STORE, "--carts", "1", "--json",
        "--deadline-ms", "1000", "--dwell-ms", "0", "--state-dir", str(state), "--drain-s", str(drain_s),
    ]  # fmt: skip


@pytest.fixture
def trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A directory of simulated trip traces."""
    out = tmp_path / "trips"
    assert main(["--orders", str(TRIPS), "--seed", "5", "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def queued_ids(state: Path) -> set[str]:
    """The event ids the simulated cart's outbox file holds."""
    outbox = SqliteOutbox(outbox_dir(state, "sim-cart-000"))
    try:
        return {e.event_id for e in outbox.peek(100_000)}
    finally:
        outbox.close()


async def test_events_left_by_an_outage_stay_on_disk_and_go_out_on_the_next_run(
    trips: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run whose edge is down keeps its events in the cart's outbox file; the next run, edge up, sends them all."""
    state = tmp_path / "state"
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        edge.servicer.down = True
        assert await asyncio.to_thread(main, replay_args(trips, edge.address, state, drain_s=0)) == 1
        output = capsys.readouterr()
        first = json.loads(output.out)
        assert f"kept in {state}" in output.err
        left = queued_ids(state)
        assert first["events_unreported"] == len(left) > 0
        assert not fake.journal
        edge.servicer.down = False
        assert await asyncio.to_thread(main, replay_args(trips, edge.address, state, drain_s=0)) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["events_unreported"] == 0
    assert left <= fake.journal.keys()
    assert second["events_reported"] == len(fake.journal)
    assert not queued_ids(state)


@dataclass
class OutageUntilTripsEnd(FakeAdServicer):
    """Down until a refused report shows every trip's checkout queued (all trips have ended), then up."""

    checkouts_seen: set[str] = field(default_factory=set)

    async def ReportEvents(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.ReportEventsRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ad_service_pb2.ReportEventsResponse:
        if self.down:
            self.checkouts_seen |= {e.session_id for e in request.events if e.type == common_pb2.EVENT_TYPE_CHECKOUT}
            if len(self.checkouts_seen) == TRIPS:
                # This call is still refused: the cart learns the edge is back only by trying again.
                self.down = False
            await context.abort(grpc.StatusCode.UNAVAILABLE, "edge is down")
        return await super().ReportEvents(request, context)


async def test_an_edge_back_after_the_trips_ended_gets_every_event_in_the_same_run(
    trips: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The edge is down while every trip ends and returns afterwards: the cart's drain reports all events."""
    fake = FakeAdService()
    servicer = OutageUntilTripsEnd(fake, down=True)
    server = grpc.aio.server(options=server_options())
    ad_service_pb2_grpc.add_AdServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        state = tmp_path / "state"
        code = await asyncio.to_thread(main, replay_args(trips, f"127.0.0.1:{port}", state, drain_s=30))
    finally:
        await server.stop(grace=None)
    stats = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(servicer.checkouts_seen) == TRIPS
    assert not servicer.down
    assert stats["events_unreported"] == 0
    assert stats["events_reported"] == len(fake.journal) > 0
    assert len(fake.journaled(common_pb2.EVENT_TYPE_CHECKOUT)) == TRIPS
    assert not queued_ids(state)


def test_a_cart_id_that_is_no_plain_file_name_stays_inside_the_state_dir(tmp_path: Path) -> None:
    """An outbox directory never leaves the state directory, whatever the cart id."""
    assert outbox_dir(tmp_path, "cart-007") == tmp_path / "cart-007"
    for hostile in ("../../etc", "..", "a/b", ""):
        assert outbox_dir(tmp_path, hostile).parent == tmp_path
        assert outbox_dir(tmp_path, hostile).name.startswith("cart-")
