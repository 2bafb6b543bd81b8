"""AdminService experiment layers (CRUD) and RunReport: thin shells over experiment_rules, reports
(pure) and the store."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.rpc.errors import Ctx, InvalidArgumentError, NotFoundError, maps_errors
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.compile.experiment_rules import validate_layer
from cloud_core.reports.metrics import Delivery
from cloud_core.reports.query import (
    add_requests,
    check_report_request,
    fold_rows,
    layer_lifts,
    plan_report,
    report_response,
    request_columns,
    totals_queries,
)
from cloud_core.storage.protocol import ExperimentStore, ReportStore
from cloud_core.sync.notifier import ChangeNotifier

_LAYER_PATHS = ("display_name", "salt", "state", "arms")
SALT_BYTES = 8
MAX_REPORT_ROWS = 50_000


class ReportSource(ReportStore, Protocol):
    """What a report reads: the rollups, and layers for which arms are holdouts."""

    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None: ...


class _ExperimentStores(ExperimentStore, ReportStore, Protocol):
    pass


class _HasStores(Protocol):
    @property
    def _store(self) -> _ExperimentStores: ...
    @property
    def _notifier(self) -> ChangeNotifier: ...
    @property
    def _clock(self) -> Callable[[], datetime]: ...


def _raise_if(violations: Sequence[v.Violation]) -> None:
    if violations:
        raise InvalidArgumentError(violations)


def _merge_layer(
    existing: admin_pb2.ExperimentLayer, patch: admin_pb2.ExperimentLayer, mask: FieldMask
) -> admin_pb2.ExperimentLayer:
    paths = list(mask.paths) or list(_LAYER_PATHS)
    unknown = [p for p in paths if p not in _LAYER_PATHS]
    if unknown:
        raise InvalidArgumentError([("update_mask", f"cannot update {', '.join(unknown)}")])
    merged = admin_pb2.ExperimentLayer()
    merged.CopyFrom(existing)
    FieldMask(paths=paths).MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged


async def _layer(self: _HasStores, layer_id: str, field: str) -> admin_pb2.ExperimentLayer:
    _raise_if(v.check_required_id(layer_id, field))
    layer = await self._store.get_experiment_layer(layer_id)
    if layer is None:
        raise NotFoundError(f"experiment layer {layer_id!r} does not exist", field)
    return layer


class ExperimentAdminMixin:
    """Mixed into AdminServicer, whose ``_store``, ``_notifier`` and ``_clock`` it uses."""

    @maps_errors
    async def CreateExperimentLayer(  # noqa: N802
        self: _HasStores, request: admin_pb2.CreateExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.CreateExperimentLayerResponse:
        layer = admin_pb2.ExperimentLayer()
        layer.CopyFrom(request.experiment_layer)
        given = request.layer_id or layer.layer_id
        if given:
            _raise_if(v.check_id(given, "layer_id"))
        layer.layer_id = given or f"layer-{secrets.token_hex(6)}"
        layer.salt = layer.salt or secrets.token_hex(SALT_BYTES)
        if layer.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            layer.state = admin_pb2.SERVING_STATE_ACTIVE
        _raise_if(validate_layer(layer, await self._store.active_experiment_layers()))
        layer.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._store.create_experiment_layer(layer)
        self._notifier.notify()
        return admin_pb2.CreateExperimentLayerResponse(experiment_layer=layer)

    @maps_errors
    async def GetExperimentLayer(  # noqa: N802
        self: _HasStores, request: admin_pb2.GetExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.GetExperimentLayerResponse:
        return admin_pb2.GetExperimentLayerResponse(experiment_layer=await _layer(self, request.layer_id, "layer_id"))

    @maps_errors
    async def ListExperimentLayers(  # noqa: N802
        self: _HasStores, request: admin_pb2.ListExperimentLayersRequest, context: Ctx
    ) -> admin_pb2.ListExperimentLayersResponse:
        query = "experiment_layers"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._store.list_experiment_layers(page)
        token = next_token([r.layer_id for r in rows], page.limit, query)
        return admin_pb2.ListExperimentLayersResponse(experiment_layers=rows[: page.limit], next_page_token=token)

    @maps_errors
    async def UpdateExperimentLayer(  # noqa: N802
        self: _HasStores, request: admin_pb2.UpdateExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.UpdateExperimentLayerResponse:
        existing = await _layer(self, request.experiment_layer.layer_id, "experiment_layer.layer_id")
        merged = _merge_layer(existing, request.experiment_layer, request.update_mask)
        if merged.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            merged.state = existing.state
        merged.salt = merged.salt or existing.salt
        _raise_if(validate_layer(merged, await self._store.active_experiment_layers()))
        await self._store.update_experiment_layer(merged)
        self._notifier.notify()
        return admin_pb2.UpdateExperimentLayerResponse(experiment_layer=merged)

    @maps_errors
    async def DeleteExperimentLayer(  # noqa: N802
        self: _HasStores, request: admin_pb2.DeleteExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.DeleteExperimentLayerResponse:
        _raise_if(v.check_required_id(request.layer_id, "layer_id"))
        await self._store.delete_experiment_layer(request.layer_id)
        self._notifier.notify()
        return admin_pb2.DeleteExperimentLayerResponse()

    @maps_errors
    async def RunReport(  # noqa: N802
        self: _HasStores, request: admin_pb2.RunReportRequest, context: Ctx
    ) -> admin_pb2.RunReportResponse:
        own = scoped_advertiser()
        if own:
            # An advertiser token reports on its own campaigns only, whatever the request says.
            scoped = admin_pb2.RunReportRequest()
            scoped.CopyFrom(request)
            scoped.advertiser_id = own
            request = scoped
        return await run_report(self._store, request)


async def run_report(store: ReportSource, request: admin_pb2.RunReportRequest) -> admin_pb2.RunReportResponse:
    """RunReport's answer from the rollups (also the operator console's entry); InvalidArgumentError
    (with field violations) for a bad request."""
    _raise_if(check_report_request(request))
    plan = plan_report(request)
    rows = fold_rows(plan, await store.report_delivery(plan.queries))
    if len(rows) > MAX_REPORT_ROWS:
        # One response carries every row: beyond this it would outgrow the message size limit.
        raise InvalidArgumentError(
            [
                (
                    "dimensions",
                    f"the report has {len(rows)} rows, more than {MAX_REPORT_ROWS}: narrow its range or filters",
                )
            ]
        )
    if (columns := request_columns(plan)) is not None:
        rows = add_requests(plan, rows, columns, await store.report_requests(plan.query.where, columns))
    totals: Delivery | None = None
    if queries := totals_queries(plan):
        totals = sum((d for _, d in await store.report_delivery(queries)), Delivery())
    lifts = []
    # Lift is over every advertised product of the stores' trips, so it is not per advertiser.
    if not request.advertiser_id:
        trip_sums = await store.report_trip_sums(plan.query.where)
        holdouts = {}
        for layer_id in sorted({layer_id for layer_id, _, _ in trip_sums}):
            layer = await store.get_experiment_layer(layer_id)
            if layer is not None:
                holdouts[layer_id] = frozenset(a.arm_id for a in layer.arms if a.holdout)
        lifts = layer_lifts(trip_sums, holdouts)
    return report_response(plan, rows, lifts, totals)
