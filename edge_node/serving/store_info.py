"""GetStoreInfo's answer from one index version: the store's name and its zones as shoppers know them."""

from __future__ import annotations

from cartads.v1.ad_service_pb2 import GetStoreInfoResponse, StoreZone
from edge_node.index.view import ServingView


def store_info(view: ServingView) -> GetStoreInfoResponse:
    """The store's name and time zone, and each zone its products are shelved in (by zone id) with
    its aisle's id and name."""
    zones: dict[str, StoreZone] = {}
    for product in view.products.values():
        if product.zone_id and (product.zone_id not in zones or not zones[product.zone_id].display_name):
            zones[product.zone_id] = StoreZone(
                zone_id=product.zone_id, aisle_id=product.aisle_id, display_name=product.aisle_name
            )
    return GetStoreInfoResponse(
        store_id=view.store_id,
        display_name=view.display_name,
        time_zone=view.time_zone,
        zones=[zones[zone_id] for zone_id in sorted(zones)],
        index_version=view.version,
    )


__all__ = ["store_info"]
