"""AdminService's reports: RunReport (thin over ``cloud_core.reports.query``), the spend report and the
dead letters (events refused for billing)."""

from __future__ import annotations

from typing import Protocol

from cartads.rpc.errors import InvalidArgumentError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import existing, raise_if
from cloud_core.reports.metrics import Delivery
from cloud_core.reports.query import (
    ReportPlan,
    RowKey,
    add_invalid,
    add_requests,
    check_report_request,
    fold_rows,
    layer_lifts,
    plan_report,
    report_response,
    request_columns,
    totals_queries,
)
from cloud_core.storage.protocol import AdvertiserStore, CatalogStore, LedgerStore, ReportStore

MAX_REPORT_ROWS = 50_000


class ExperimentLayerReader(Protocol):
    """The layers whose holdout arms a report's lift compares against."""

    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None: ...


async def report_rows(store: ReportStore, plan: ReportPlan) -> dict[RowKey, Delivery]:
    """The report's rows: delivery, invalid traffic and (where the report can show them) requests."""
    rows = fold_rows(plan, await store.report_delivery(plan.queries)) if plan.delivery else {}
    if plan.invalid is not None:
        rows = add_invalid(plan, rows, await store.report_invalid(plan.invalid))
    if (columns := request_columns(plan)) is not None:
        rows = add_requests(plan, rows, columns, await store.report_requests(plan.query.where, columns))
    return rows


async def run_report(
    store: ReportStore, layers: ExperimentLayerReader, request: admin_pb2.RunReportRequest
) -> admin_pb2.RunReportResponse:
    """RunReport's answer from the rollups (also the operator console's entry); InvalidArgumentError
    (with field violations) for a bad request."""
    raise_if(check_report_request(request))
    plan = plan_report(request)
    rows = await report_rows(store, plan)
    if len(rows) > MAX_REPORT_ROWS:
        # One response carries every row: beyond this it would outgrow the message size limit (a
        # report export has no such cap: its CSV streams in chunks).
        raise InvalidArgumentError(
            [
                (
                    "dimensions",
                    f"the report has {len(rows)} rows, more than {MAX_REPORT_ROWS}: narrow its range or filters,"
                    " or export it (cartads-admin report export)",
                )
            ]
        )
    totals: Delivery | None = None
    if queries := totals_queries(plan):
        totals = sum((d for _, d in await store.report_delivery(queries)), Delivery())
    lifts = []
    # Lift is over every advertised product of the stores' trips, so it is not per advertiser.
    if not request.advertiser_id:
        trip_sums = await store.report_trip_sums(plan.query.where)
        holdouts = {}
        for layer_id in sorted({layer_id for layer_id, _, _ in trip_sums}):
            layer = await layers.get_experiment_layer(layer_id)
            if layer is not None:
                holdouts[layer_id] = frozenset(a.arm_id for a in layer.arms if a.holdout)
        lifts = layer_lifts(trip_sums, holdouts)
    return report_response(plan, rows, lifts, totals)


MAX_RECONCILED_CARTS = 1_000


def check_cart_events_request(request: admin_pb2.CountCartEventsRequest) -> list[v.Violation]:
    """CountCartEvents' input problems: a store, 1 to 1,000 well-formed cart ids, sane times."""
    out = v.check_required_id(request.store_id, "store_id")
    if not request.cart_ids:
        out.append(("cart_ids", "name at least one cart"))
    elif len(request.cart_ids) > MAX_RECONCILED_CARTS:
        out.append(("cart_ids", f"at most {MAX_RECONCILED_CARTS} carts per call"))
    else:
        for i, cart_id in enumerate(request.cart_ids):
            out += v.check_id(cart_id, f"cart_ids[{i}]")
    for name in ("start_time", "end_time"):
        if request.HasField(name):
            out += v.check_timestamp(getattr(request, name), name)
    return out


class ReportAdmin:
    """The report methods; an advertiser token reports on its own campaigns only."""

    def __init__(
        self,
        reports: ReportStore,
        layers: ExperimentLayerReader,
        ledger: LedgerStore,
        advertisers: AdvertiserStore,
        catalog: CatalogStore,
    ) -> None:
        self._reports = reports
        self._layers = layers
        self._ledger = ledger
        self._advertisers = advertisers
        self._catalog = catalog

    async def run(self, request: admin_pb2.RunReportRequest) -> admin_pb2.RunReportResponse:
        own = scoped_advertiser()
        if own:
            # Whatever the request says, an advertiser token reports on its own campaigns only.
            scoped = admin_pb2.RunReportRequest()
            scoped.CopyFrom(request)
            scoped.advertiser_id = own
            request = scoped
        raise_if(check_report_request(request))
        # A filter naming nothing would answer an empty report, which reads as "no traffic".
        for i, store_id in enumerate(request.store_ids):
            await existing("store", store_id, f"store_ids[{i}]", self._catalog.get_store)
        if request.layer_id:
            await existing("experiment layer", request.layer_id, "layer_id", self._layers.get_experiment_layer)
        return await run_report(self._reports, self._layers, request)

    async def spend(self, request: admin_pb2.GetSpendReportRequest) -> admin_pb2.GetSpendReportResponse:
        if request.store_id:
            await existing("store", request.store_id, "store_id", self._catalog.get_store)
        if request.advertiser_id:
            await existing("advertiser", request.advertiser_id, "advertiser_id", self._advertisers.get_advertiser)
        rows = await self._ledger.spend_report(request.store_id, request.advertiser_id)
        return admin_pb2.GetSpendReportResponse(
            campaigns=rows,
            total_spend_micros=sum(r.spend_micros for r in rows),
            billed_event_count=sum(r.impressions + r.clicks + r.conversions for r in rows),
        )

    async def cart_events(self, request: admin_pb2.CountCartEventsRequest) -> admin_pb2.CountCartEventsResponse:
        raise_if(check_cart_events_request(request))
        await existing("store", request.store_id, "store_id", self._catalog.get_store)
        start_us = ts_to_us(request.start_time) if request.HasField("start_time") else None
        end_us = ts_to_us(request.end_time) if request.HasField("end_time") else None
        counts = await self._ledger.cart_event_counts(request.store_id, list(request.cart_ids), start_us, end_us)
        return admin_pb2.CountCartEventsResponse(counts=counts)

    async def dead_letters(self, request: admin_pb2.ListDeadLettersRequest) -> admin_pb2.ListDeadLettersResponse:
        if not request.store_id:
            raise InvalidArgumentError([("store_id", "is required")])
        if request.edge_id:
            raise_if(v.check_id(request.edge_id, "edge_id"))
        if request.reason_code not in admin_pb2.DeadLetterReason.values():
            raise_if([("reason_code", "is not a DeadLetterReason")])
        query = f"dead_letters:{request.store_id}:{request.edge_id}:{int(request.reason_code)}"
        page = decode_request(request.page_size, request.page_token, query)
        await existing("store", request.store_id, "store_id", self._catalog.get_store)
        try:
            after_id = int(page.after_id or 0)
        except ValueError as exc:
            raise InvalidArgumentError([("page_token", "is not a token this server issued")]) from exc
        rows = await self._ledger.dead_letters(
            request.store_id, after_id, page.limit + 1, edge_id=request.edge_id, reason_code=int(request.reason_code)
        )
        token = next_token([str(r.dead_letter_id) for r in rows], page.limit, query)
        return admin_pb2.ListDeadLettersResponse(
            dead_letters=[
                admin_pb2.DeadLetter(
                    store_id=r.store_id,
                    edge_id=r.edge_id,
                    seq=r.seq,
                    event_id=r.event_id,
                    reason=r.reason,
                    event_type=r.event_type,  # type: ignore[arg-type]
                    create_time=us_to_ts(r.create_time_us),
                    reason_code=r.reason_code,  # type: ignore[arg-type]
                    signing_key_id=r.signing_key_id,
                    claimed_charge_micros=r.claimed_charge_micros,
                )
                for r in rows[: page.limit]
            ],
            next_page_token=token,
        )
