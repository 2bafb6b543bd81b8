"""In-memory stand-ins for the shared index store, for IndexCache and stream tests."""

from __future__ import annotations

from cartads.v1 import index_pb2


class MemoryVersions:
    """A VersionSource over a dict: what the database holds, with counts of loads."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], bytes] = {}
        self.loads = 0

    def keep(self, store_id: str, index: index_pb2.StoreIndex) -> index_pb2.StoreIndex:
        self.stored[(store_id, index.version)] = index.SerializeToString(deterministic=True)
        return index

    async def load(self, store_id: str, version: str) -> index_pb2.StoreIndex | None:
        self.loads += 1
        data = self.stored.get((store_id, version))
        if data is None:
            return None
        index = index_pb2.StoreIndex()
        index.ParseFromString(data)
        return index
