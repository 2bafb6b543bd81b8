"""Experiment layers in SQL (table ``experiment_layers``; arms as a JSON list, like targeting)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from google.protobuf import json_format
from sqlalchemy.engine import Connection

from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage.db import Database
from cloud_core.storage.schema import experiment_layers

_X = experiment_layers.c
_COLUMNS = (_X.layer_id, _X.display_name, _X.salt, _X.state, _X.arms_json, _X.create_time_us)


def _arms_json(layer: admin_pb2.ExperimentLayer) -> str:
    return json.dumps(
        [json_format.MessageToDict(arm, preserving_proto_field_name=True) for arm in layer.arms], sort_keys=True
    )


def _layer(row: Sequence[Any]) -> admin_pb2.ExperimentLayer:
    layer_id, name, salt, state, arms_json, created = row
    layer = admin_pb2.ExperimentLayer(
        layer_id=layer_id, display_name=name, salt=salt, state=state, create_time=us_to_ts(int(created))
    )
    for arm in json.loads(arms_json):
        json_format.ParseDict(arm, layer.arms.add())
    return layer


def _values(layer: admin_pb2.ExperimentLayer) -> dict[str, object]:
    return {
        "display_name": layer.display_name,
        "salt": layer.salt,
        "state": int(layer.state),
        "arms_json": _arms_json(layer),
    }


class ExperimentTablesMixin:
    """The ExperimentStore Protocol (storage/protocol.py) over ``self.db``."""

    db: Database

    async def create_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None:
        def _insert(conn: Connection) -> None:
            if conn.execute(sa.select(_X.layer_id).where(_X.layer_id == layer.layer_id)).first() is not None:
                raise AlreadyExistsError(f"experiment layer {layer.layer_id!r} already exists", "layer_id")
            conn.execute(
                experiment_layers.insert().values(
                    layer_id=layer.layer_id, create_time_us=ts_to_us(layer.create_time), **_values(layer)
                )
            )

        await self.db.write(_insert)

    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None:
        query = sa.select(*_COLUMNS).where(_X.layer_id == layer_id)
        row = await self.db.read(lambda conn: conn.execute(query).first())
        return _layer(row) if row is not None else None

    async def list_experiment_layers(self, page: PageRequest) -> list[admin_pb2.ExperimentLayer]:
        """A page in id order, one row more than the limit (the next page's token comes from it)."""
        query = sa.select(*_COLUMNS).where(_X.layer_id > page.after_id).order_by(_X.layer_id).limit(page.limit + 1)
        rows = await self.db.read(lambda conn: list(conn.execute(query)))
        return [_layer(r) for r in rows]

    async def active_experiment_layers(self) -> list[admin_pb2.ExperimentLayer]:
        """Layers in the ACTIVE state, in id order: what every store's index carries."""
        query = sa.select(*_COLUMNS).where(_X.state == admin_pb2.SERVING_STATE_ACTIVE).order_by(_X.layer_id)
        rows = await self.db.read(lambda conn: list(conn.execute(query)))
        return [_layer(r) for r in rows]

    async def update_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None:
        def _update(conn: Connection) -> None:
            stmt = sa.update(experiment_layers).where(_X.layer_id == layer.layer_id).values(**_values(layer))
            if conn.execute(stmt).rowcount == 0:
                raise NotFoundError(f"experiment layer {layer.layer_id!r} does not exist", "experiment_layer.layer_id")

        await self.db.write(_update)

    async def delete_experiment_layer(self, layer_id: str) -> None:
        def _delete(conn: Connection) -> None:
            if conn.execute(sa.delete(experiment_layers).where(_X.layer_id == layer_id)).rowcount == 0:
                raise NotFoundError(f"experiment layer {layer_id!r} does not exist", "layer_id")

        await self.db.write(_delete)
