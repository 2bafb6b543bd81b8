"""Index distribution: IndexSyncService streams each edge its store's index (snapshot or delta,
ACK/NACK), the compiled-index cache, change notification across replicas, and AssetService.
"""
