"""ForecastAvailability and ``cartads-admin forecast`` over a real cloud: the learned traffic read back
into per-day numbers, the upper bound flag, and bad targeting or dates named by field."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from cartads.time_units import HOUR_US, now_us, us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cartads.v1.request_counts_pb2 import RequestCountRow, RequestCounts
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from cloud_core.events.outcomes import EventOutcome
from tests.cloud_core.helpers import admin_cli_json, run_admin_cli, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

pytestmark = pytest.mark.usefixtures("quiet_server_logs")
SCAN, IDLE = common_pb2.TRIGGER_SCAN, common_pb2.TRIGGER_IDLE


async def _away_from_the_hour() -> None:
    """The forecast learns from whole hours up to now: a test that crossed the hour would see one more,
    empty hour, so one starting in an hour's last 30 s waits for the next hour first."""
    left_us = HOUR_US - now_us() % HOUR_US
    if left_us < 30_000_000:
        await asyncio.sleep(left_us / 1e6 + 0.1)


async def _learned(cloud: CloudServer, admin: AdminServiceAsyncStub) -> None:
    """Store s1 (UTC): the last 48 whole hours, 75 scan and 25 idle requests each; 480 impressions."""
    await _away_from_the_hour()
    await admin.CreateStore(admin_pb2.CreateStoreRequest(store_id="s1", store=admin_pb2.Store(display_name="s1")))
    end = now_us() - now_us() % HOUR_US
    rows = []
    for h in range(1, 49):
        hour = us_to_ts(end - h * HOUR_US)
        rows.append(RequestCountRow(hour_start_time=hour, trigger=SCAN, requests=75, ads=75))
        rows.append(RequestCountRow(hour_start_time=hour, trigger=IDLE, requests=25, ads=25))
    await cloud.store.pacing_stats.record_request_counts("s1", "edge", [("r1", RequestCounts(rows=rows))])
    events = [
        EventOutcome(
            seq=i,
            event_id=f"e{i}",
            event_type=common_pb2.EVENT_TYPE_IMPRESSION,
            cart_id="cart",
            session_id="trip",
            event_blob=b"",
            receive_time_us=end - (1 + i % 48) * HOUR_US,
            ad_id=f"ad{i}",
            advertiser_id="acme",
            campaign_id="c1",
            line_item_id="li1",
            creative_id="cr",
            pricing_model=common_pb2.PRICING_MODEL_CPM,
            billable=True,
        )
        for i in range(480)
    ]
    await cloud.store.ledger.record_events("s1", "edge", events)


def _dates(days: int) -> tuple[str, str]:
    start = datetime.now(UTC).date() + timedelta(days=1)
    return start.isoformat(), (start + timedelta(days=days - 1)).isoformat()


async def test_the_forecast_reads_the_learned_traffic(cloud_server: CloudServer, admin: AdminServiceAsyncStub) -> None:
    """2,400 requests a day, 75% on scan, 0.1 impressions each: scan-only forecasts 1,800 requests and 180
    impressions a day, 5,400 and 540 over three days."""
    await _learned(cloud_server, admin)
    start, end = _dates(3)
    request = admin_pb2.ForecastAvailabilityRequest(
        targeting=admin_pb2.Targeting(triggers=[SCAN]), start_date=start, end_date=end
    )
    response = await admin.ForecastAvailability(request)
    (store,) = response.stores
    assert store.requests_per_day == pytest.approx(2_400)
    assert store.impressions_per_request == pytest.approx(0.1)
    assert [d.eligible_requests for d in response.days] == pytest.approx([1_800] * 3)
    assert response.total_expected_impressions == pytest.approx(540)
    assert not response.upper_bound


async def test_context_targeting_is_flagged_as_an_upper_bound(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub
) -> None:
    """A brand-targeted draft forecasts the whole store's traffic and says it is an upper bound."""
    await _learned(cloud_server, admin)
    start, end = _dates(1)
    request = admin_pb2.ForecastAvailabilityRequest(
        targeting=admin_pb2.Targeting(brands=["Acme"]), start_date=start, end_date=end
    )
    response = await admin.ForecastAvailability(request)
    assert response.upper_bound
    assert response.total_eligible_requests == pytest.approx(2_400)


async def test_bad_targeting_and_dates_name_their_field(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub
) -> None:
    """An hour of 25, an unknown store, a malformed date, an end before the start and 100 days are each
    INVALID_ARGUMENT on their field."""
    await _learned(cloud_server, admin)
    start, _ = _dates(1)
    cases: dict[str, tuple[dict[str, list[Any]], str, str]] = {
        "targeting.daypart_hours[0]": ({"daypart_hours": [25]}, start, start),
        "targeting.store_ids[0]": ({"store_ids": ["nowhere"]}, start, start),
        "start_date": ({}, "2026-13-01", start),
        "end_date": ({}, start, "2020-01-01"),
    }
    too_long = (datetime.fromisoformat(start) + timedelta(days=99)).date().isoformat()
    cases["end_date "] = ({}, start, too_long)
    for field, (targeting, first, last) in cases.items():
        request = admin_pb2.ForecastAvailabilityRequest(
            targeting=admin_pb2.Targeting(**targeting), start_date=first, end_date=last
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await admin.ForecastAvailability(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field.strip() in violations_of(caught.value)


async def test_cartads_admin_forecast_prints_a_table_and_json(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, capsys: pytest.CaptureFixture[str]
) -> None:
    """An advertiser's `cartads-admin forecast --trigger scan` prints each day's numbers and the total;
    --json gives the response."""
    await _learned(cloud_server, admin)
    token = await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")
    start, end = _dates(2)
    flags = ("forecast", "--from", start, "--to", end, "--trigger", "scan")
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, token, *flags) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["store_id", "date", "eligible_requests", "expected_impressions"]
    assert lines[1].split() == ["s1", start, "1,800", "180"]
    assert lines[-1].split() == ["total", "3,600", "360"]
    answer = await admin_cli_json(cloud_server, token, capsys, *flags)
    assert answer["total_eligible_requests"] == pytest.approx(3_600)
