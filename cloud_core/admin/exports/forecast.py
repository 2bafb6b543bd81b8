"""ForecastAvailability: a draft line item's targeting and dates checked, each targeted store's learned
traffic read, and the pure forecast (``delivery.forecast``) of every local date at every store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from cartads.time_units import DAY_US, hour_start_us, now_us
from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.request_checks import raise_if
from cloud_core.delivery.forecast import ForecastTargeting, TrafficHistory, forecast_days, store_rates
from cloud_core.reports.query import split_by_days
from cloud_core.reports.rollups import ReportFilter, ReportQuery
from cloud_core.storage.protocol import CatalogStore, ReportStore, TrafficHistoryStore

MAX_FORECAST_DAYS = 92
# The traffic a forecast learns from: the last four weeks, whole hours up to now.
LEARNING_WINDOW_US = 28 * DAY_US


def _date(value: str, field: str, out: list[v.Violation]) -> date | None:
    if not value:
        out.append((field, "is required"))
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        out.append((field, "must be a date YYYY-MM-DD"))
        return None


def check_dates(request: admin_pb2.ForecastAvailabilityRequest) -> tuple[list[date], list[v.Violation]]:
    """The forecast's local dates, or what is wrong with start_date and end_date."""
    out: list[v.Violation] = []
    start = _date(request.start_date, "start_date", out)
    end = _date(request.end_date, "end_date", out)
    if start is None or end is None:
        return [], out
    if end < start:
        return [], [("end_date", "must not be before start_date")]
    if (end - start).days + 1 > MAX_FORECAST_DAYS:
        return [], [("end_date", f"a forecast spans at most {MAX_FORECAST_DAYS} days")]
    return [start + timedelta(days=i) for i in range((end - start).days + 1)], []


def _targeting(t: admin_pb2.Targeting) -> ForecastTargeting:
    return ForecastTargeting(
        triggers=frozenset(int(x) for x in t.triggers),
        hours=frozenset(t.daypart_hours),
        weekdays=frozenset(t.daypart_weekdays),
    )


def _context_targeted(t: admin_pb2.Targeting) -> bool:
    return bool(t.product_ids or t.brands or t.aisle_ids or t.department_ids or t.zone_ids)


class ForecastAdmin:
    """ForecastAvailability; any token that may read stores may ask (it names no advertiser's data)."""

    def __init__(
        self,
        catalog: CatalogStore,
        traffic: TrafficHistoryStore,
        reports: ReportStore,
        clock_us: Callable[[], int] = now_us,
    ) -> None:
        self._catalog = catalog
        self._traffic = traffic
        self._reports = reports
        self._clock = clock_us

    async def forecast(self, request: admin_pb2.ForecastAvailabilityRequest) -> admin_pb2.ForecastAvailabilityResponse:
        dates, problems = check_dates(request)
        targeting = request.targeting
        for i, store_id in enumerate(targeting.store_ids):
            problems += v.check_id(store_id, f"targeting.store_ids[{i}]")
        raise_if(problems)
        known = await self._catalog.store_ids()
        store_ids = sorted(set(targeting.store_ids)) if targeting.store_ids else sorted(known)
        catalog = await self._catalog.catalog_ids([s for s in store_ids if s in known])
        raise_if(
            v.check_targeting(
                targeting, v.LineItemContext(campaign_advertiser_id="", known_store_ids=known, catalog=catalog)
            )
        )
        end_us = hour_start_us(self._clock())
        since_us = end_us - LEARNING_WINDOW_US
        wanted = _targeting(targeting)
        response = admin_pb2.ForecastAvailabilityResponse(upper_bound=_context_targeted(targeting))
        for store_id in store_ids:
            store = await self._catalog.get_store(store_id)
            if store is None:
                continue  # deleted since the check
            zone = store.time_zone or "UTC"
            history = TrafficHistory(
                store_id=store_id,
                tz=ZoneInfo(zone),
                requests=await self._requests(store_id, since_us),
                impressions=await self._impressions(store_id, since_us, end_us),
                end_us=end_us,
            )
            rates = store_rates(history, wanted)
            response.stores.add(
                store_id=store_id,
                time_zone=zone,
                requests_per_day=rates.requests_per_day,
                impressions_per_request=rates.impressions_per_request,
                days_observed=rates.days_observed,
            )
            for day in forecast_days(rates, wanted, dates):
                response.days.add(
                    store_id=store_id,
                    date=day.date.isoformat(),
                    eligible_requests=day.eligible_requests,
                    expected_impressions=day.expected_impressions,
                )
                response.total_eligible_requests += day.eligible_requests
                response.total_expected_impressions += day.expected_impressions
        return response

    async def _requests(self, store_id: str, since_us: int) -> dict[tuple[int, int], int]:
        out: dict[tuple[int, int], int] = {}
        for (hour_us, trigger, _), (requests, _) in (await self._traffic.request_counts(store_id, since_us)).items():
            out[(hour_us, trigger)] = out.get((hour_us, trigger), 0) + requests
        return out

    async def _impressions(self, store_id: str, since_us: int, end_us: int) -> int:
        where = ReportFilter(start_us=since_us, end_us=end_us, store_ids=(store_id,))
        queries = split_by_days(ReportQuery((), where), daily_ok=True)
        return sum(d.impressions for _, d in await self._reports.report_delivery(queries))
