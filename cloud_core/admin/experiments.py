"""AdminService's experiment layers: create, get, list, update, delete; thin over ``experiment_rules``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.rpc.errors import InvalidArgumentError
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import choose_id, existing, raise_if
from cloud_core.compile.experiment_rules import validate_layer
from cloud_core.storage.protocol import ExperimentStore
from cloud_core.sync.notifier import ChangeNotifier

_LAYER_PATHS = ("display_name", "salt", "state", "arms")
SALT_BYTES = 8


def _merge_layer(
    current: admin_pb2.ExperimentLayer, patch: admin_pb2.ExperimentLayer, mask: FieldMask
) -> admin_pb2.ExperimentLayer:
    paths = list(mask.paths) or list(_LAYER_PATHS)
    unknown = [p for p in paths if p not in _LAYER_PATHS]
    if unknown:
        raise InvalidArgumentError([("update_mask", f"cannot update {', '.join(unknown)}")])
    merged = admin_pb2.ExperimentLayer()
    merged.CopyFrom(current)
    FieldMask(paths=paths).MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged


class ExperimentAdmin:
    """The experiment layer methods; a layer's arms are checked against every other active layer."""

    def __init__(self, experiments: ExperimentStore, notifier: ChangeNotifier, clock: Callable[[], datetime]) -> None:
        self._experiments = experiments
        self._notifier = notifier
        self._clock = clock

    async def create(self, request: admin_pb2.CreateExperimentLayerRequest) -> admin_pb2.CreateExperimentLayerResponse:
        """A new layer gets a random salt unless given one, and starts active unless told otherwise."""
        layer = admin_pb2.ExperimentLayer()
        layer.CopyFrom(request.experiment_layer)
        layer.layer_id = choose_id(request.layer_id, layer.layer_id, "layer_id", "layer")
        layer.salt = layer.salt or secrets.token_hex(SALT_BYTES)
        if layer.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            layer.state = admin_pb2.SERVING_STATE_ACTIVE
        raise_if(validate_layer(layer, await self._experiments.active_experiment_layers()))
        layer.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._experiments.create_experiment_layer(layer)
        self._notifier.notify()
        return admin_pb2.CreateExperimentLayerResponse(experiment_layer=layer)

    async def get(self, request: admin_pb2.GetExperimentLayerRequest) -> admin_pb2.GetExperimentLayerResponse:
        return admin_pb2.GetExperimentLayerResponse(experiment_layer=await self._layer(request.layer_id))

    async def list_page(self, request: admin_pb2.ListExperimentLayersRequest) -> admin_pb2.ListExperimentLayersResponse:
        query = "experiment_layers"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._experiments.list_experiment_layers(page)
        token = next_token([r.layer_id for r in rows], page.limit, query)
        return admin_pb2.ListExperimentLayersResponse(experiment_layers=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateExperimentLayerRequest) -> admin_pb2.UpdateExperimentLayerResponse:
        current = await self._layer(request.experiment_layer.layer_id, "experiment_layer.layer_id")
        merged = _merge_layer(current, request.experiment_layer, request.update_mask)
        if merged.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            merged.state = current.state
        merged.salt = merged.salt or current.salt
        raise_if(validate_layer(merged, await self._experiments.active_experiment_layers()))
        await self._experiments.update_experiment_layer(merged)
        self._notifier.notify()
        return admin_pb2.UpdateExperimentLayerResponse(experiment_layer=merged)

    async def delete(self, request: admin_pb2.DeleteExperimentLayerRequest) -> admin_pb2.DeleteExperimentLayerResponse:
        raise_if(v.check_required_id(request.layer_id, "layer_id"))
        await self._experiments.delete_experiment_layer(request.layer_id)
        self._notifier.notify()
        return admin_pb2.DeleteExperimentLayerResponse()

    async def _layer(self, layer_id: str, field: str = "layer_id") -> admin_pb2.ExperimentLayer:
        return await existing("experiment layer", layer_id, field, self._experiments.get_experiment_layer)
