"""Spend never passes a campaign's budget: what crosses it is over-delivery, recorded and not charged."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from cartads.time_units import DAY_US, HOUR_US, us_to_ts
from cartads.v1 import admin_pb2, common_pb2, event_ingest_pb2
from cloud_core.app.server import CloudServer
from cloud_core.events.budget_cap import cap_to_budgets
from cloud_core.events.outcomes import EventOutcome
from tests.cloud_core.helpers import ad_event, seed, signing_key_of, upload

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub


def billed(event_id: str, charge: int, campaign_id: str = "c1") -> EventOutcome:
    return EventOutcome(
        seq=1,
        event_id=event_id,
        event_type=common_pb2.EVENT_TYPE_CLICK,
        cart_id="cart",
        session_id="s",
        event_blob=b"",
        campaign_id=campaign_id,
        billable=True,
        charge_micros=charge,
    )


def test_charges_within_the_budget_stand() -> None:
    """Events whose charges fit in what the budget has left are charged in full."""
    charged, over = cap_to_budgets([billed("a", 300), billed("b", 200)], {"c1": 500}, {"c1": 1_000})
    assert [o.charge_micros for o in charged] == [300, 200]
    assert over == []


def test_the_crossing_event_pays_the_remainder_and_later_ones_nothing() -> None:
    """The event that crosses the budget is charged what was left; the rest is over-delivery."""
    charged, over = cap_to_budgets([billed("a", 300), billed("b", 300), billed("c", 300)], {"c1": 500}, {"c1": 1_000})
    assert [o.charge_micros for o in charged] == [300, 200, 0]
    assert [(o.outcome.event_id, o.over_micros) for o in over] == [("b", 100), ("c", 300)]


def test_campaigns_are_capped_separately() -> None:
    """One campaign's spent budget does not cut another's charges."""
    charged, _ = cap_to_budgets([billed("a", 300, "c1"), billed("b", 300, "c2")], {"c1": 1_000}, {"c1": 1_000, "c2": 1})
    assert [o.charge_micros for o in charged] == [0, 1]


async def _five_clicks_on_a_one_dollar_budget(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> event_ingest_pb2.UploadEventsResponse:
    """Five 0.40 USD clicks, each after a viewable impression of its ad, against a 1 USD budget."""
    await seed(admin, budget_micros=1_000_000)
    key = await signing_key_of(cloud_server)
    click = common_pb2.EVENT_TYPE_CLICK
    batch = upload(
        *(
            ad_event(
                key,
                event_id=f"e{i}{kind}",
                seq=2 * i + (kind == click),
                ad_id=f"ad-{i}",
                event_type=kind,
                pricing_model=common_pb2.PRICING_MODEL_CPC,
                price_micros=400_000,
            )
            for i in range(1, 6)
            for kind in (common_pb2.EVENT_TYPE_IMPRESSION, click)
        )
    )
    response: event_ingest_pb2.UploadEventsResponse = await ingest.UploadEvents(batch)
    return response


async def test_campaign_past_its_budget_is_not_charged(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """Clicks past a campaign's budget are recorded as over-delivery: spend stops at the budget."""
    response = await _five_clicks_on_a_one_dollar_budget(admin, ingest, cloud_server)
    assert (response.billed_count, response.over_delivered_count) == (10, 3)
    report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    [c1] = report.campaigns
    assert (c1.clicks, c1.spend_micros, c1.over_delivery_micros) == (5, 1_000_000, 1_000_000)


async def test_run_report_shows_the_over_delivery(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """RunReport by campaign carries what delivery past the budget would have cost, and its events."""
    await _five_clicks_on_a_one_dollar_budget(admin, ingest, cloud_server)
    now_us = int(time.time() * 1_000_000)
    report = await admin.RunReport(
        admin_pb2.RunReportRequest(
            dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN],
            start_time=us_to_ts(now_us - DAY_US),
            end_time=us_to_ts(now_us + HOUR_US),
        )
    )
    [row] = report.rows
    assert (row.metrics.spend_micros, row.metrics.over_delivery_micros) == (1_000_000, 1_000_000)
    assert row.metrics.over_delivered_events == 3
