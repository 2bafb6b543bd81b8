"""Index distribution: IndexSyncService streams each edge its store's index (snapshot or delta,
ACK/NACK), the compiled-index cache, change notification across replicas, and AssetService.

Each stream's rules are a sans-IO machine (``stream_state``, pure); the servicer (``service``) and
``stream`` around it only do the I/O.
"""
